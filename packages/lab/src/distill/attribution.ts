/**
 * Attribution simulation (issue 13 §5): which accounts fed a distilled student?
 *
 * Built on the distillation simulation (simulate.ts: same teacher n-gram, prompt split, human text):
 * - The provider serves through a key schedule (core's KeySchedule: B cohorts re-drawn every epoch,
 *   E epochs) and keeps a serving log (core's ServingLog). Traffic: `customers` ordinary accounts making
 *   `customerRequests` requests each in random epochs, plus `clusters` harvesting clusters of
 *   `clusterAccounts` accounts each, cluster k active from epoch k on. Every response is watermarked with
 *   the key of its account's (cohort, epoch) and logged with its prompt and text.
 * - The distiller trains the student the way instruction-tuned students are trained: on prompt + response
 *   sequences of its harvest, mixed with human text; ρ counts the harvest's tokens (prompts and responses)
 *   in the training set. ρ = 0: the harvesters still harvested (the ρ = 1 % harvest) but the student
 *   trained on none of it, so the log (and every replayed prompt) is that of the ρ = 1 % row.
 * - The investigator probes the student without any watermark, up to `probeTokens` answer tokens:
 *   `replay` asks the prompts of the log's records (all of them, shuffled, cycling with fresh seeds) and
 *   scores each answer under the key that served that record (core's ScheduleScorer, keyed replay);
 *   `heldout` asks prompts the provider never served and scores every answer under every key of the ring.
 * - Outcome: the global test and the cohorts flagged by Holm at α (default 0.01); a cohort is
 *   *harvesting* when a harvested record the student trained on was served under one of its keys.
 */
import {
  KeySchedule,
  ScheduleScorer,
  logKeyFilters,
  ServingLog,
  normalizeText,
  seededRng,
  watermarkSampler,
  type KeyConfigInput,
  type LogRecord,
  type ScheduleResult,
  type Tokenizer,
  getTokenizer,
} from '@tokenmark/core'
import { LabError, checkInt, checkRange } from '../errors.js'
import { generateIds } from '../generate.js'
import { NGramModel } from '../ngram.js'
import { encodeCorpus } from '../reference.js'
import { stateOfTheUnion } from '../corpus.js'
import { subSeed } from '../rng.js'
import { ksUniform } from '../eval/ks.js'
import { DISTILL_KEY_CONFIG, partModel, splitPrompts } from './simulate.js'

export type AttributionProbe = 'replay' | 'heldout'
export const ATTRIBUTION_PROBES: readonly AttributionProbe[] = ['replay', 'heldout']
export const ATTRIBUTION_RHOS: readonly number[] = [0, 0.005, 0.01, 0.05]
export const ATTRIBUTION_COHORTS: readonly number[] = [1, 16, 256]

export interface AttributionOptions {
  /** B: ordinary cohorts per epoch (default 16). */
  cohorts?: number
  /** Epochs of the schedule (default 4, one day each). */
  epochs?: number
  /** Ordinary accounts (default 200) and requests each (default 2). */
  customers?: number
  customerRequests?: number
  /** Harvesting clusters (default 3) and accounts per cluster (default 4). */
  clusters?: number
  clusterAccounts?: number
  /**
   * Student training tokens, harvest and human text together (default 900,000: Moby-Dick's `student`
   * chapters, then State of the Union addresses). What a keyed replay can find is the harvest's distinct
   * tuples the student learned, so ρ alone does not set the evidence: ρ = 1 % of 90,000 tokens is two
   * harvested responses, of 900,000 tokens fourteen (docs/results.md §4).
   */
  trainTokens?: number
  /**
   * Passes the distiller makes over its harvest (default 1). Fine-tuning runs several epochs over its
   * instruction data; ρ counts every pass's tokens, so more passes mean fewer distinct harvested tokens.
   */
  harvestPasses?: number
  /**
   * Which log records a replay probe asks (default `suspects`): the records of the accounts the provider
   * suspects — the harvesting accounts plus `decoys` ordinary accounts wrongly suspected (default as many
   * as harvesting accounts) — or `all` records of the log.
   */
  replay?: 'suspects' | 'all'
  decoys?: number
  /**
   * Probe budget in answer tokens (default 200,000; the answers cycle through the replayed records) and
   * tokens per answer at most (default 200). With de-duplication per key, repeated replays of the same
   * few records add mostly new null tuples once the student's reproducible ones are found, so a larger
   * budget is not always stronger evidence.
   */
  probeTokens?: number
  answerTokens?: number
  /** Family-wise level for flagging cohorts (default 0.01). */
  alpha?: number
  /**
   * Score only contexts each key served, by per-key emission filters built from the log's texts (core's
   * logKeyFilters; default true). Without it the harvest's few hundred tuples drown in the probe's ~10⁵.
   */
  logFilter?: boolean
  /**
   * Keys a replayed answer is scored under (default `own`): the key that served its prompt, or `every`
   * key that served a record under investigation (core's ScheduleScorer.addUnderKeys).
   */
  replayKeys?: 'own' | 'every'
  /**
   * Temperature of the student's answers (default 0.5). An investigator chooses how to sample the suspect;
   * any choice keeps the test valid (the answers never depend on the key under H0). A cooler sample follows
   * what the student memorised (ρ = 1 %, seed 1: log10 p −3.2 at 1, −9.0 at 0.5, −9.1 at 0.2 with fewer
   * distinct tuples; greedy answers repeat themselves).
   */
  probeTemperature?: number
  order?: number
  /**
   * n-gram order of the student (default: `order`). A fine-tuned LLM reproduces much of a sequence it saw a
   * few times; an order-4 Kneser–Ney student does not (a 4-gram seen once keeps ≈ 0.3 of the mass), a longer
   * context memorises more.
   */
  studentOrder?: number
  teacherPrompts?: number
  topK?: number
  seed?: number
  config?: KeyConfigInput
  tokenizer?: Tokenizer
}

type Resolved = Required<Omit<AttributionOptions, 'tokenizer' | 'config'>> & { tokenizer: Tokenizer; config: KeyConfigInput }

export function resolveAttributionOptions(o: AttributionOptions = {}): Resolved {
  const r: Resolved = {
    cohorts: o.cohorts ?? 16,
    epochs: o.epochs ?? 4,
    customers: o.customers ?? 200,
    customerRequests: o.customerRequests ?? 2,
    clusters: o.clusters ?? 3,
    clusterAccounts: o.clusterAccounts ?? 4,
    trainTokens: o.trainTokens ?? 900_000,
    harvestPasses: o.harvestPasses ?? 3,
    probeTokens: o.probeTokens ?? 200_000,
    replay: o.replay ?? 'suspects',
    decoys: o.decoys ?? (o.clusters ?? 3) * (o.clusterAccounts ?? 4),
    answerTokens: o.answerTokens ?? 200,
    alpha: o.alpha ?? 0.01,
    logFilter: o.logFilter ?? true,
    replayKeys: o.replayKeys ?? 'own',
    probeTemperature: o.probeTemperature ?? 0.5,
    order: o.order ?? 4,
    studentOrder: o.studentOrder ?? o.order ?? 4,
    teacherPrompts: o.teacherPrompts ?? 200,
    topK: o.topK ?? 50,
    seed: o.seed ?? 1,
    config: o.config ?? DISTILL_KEY_CONFIG,
    tokenizer: o.tokenizer ?? getTokenizer('o200k_base'),
  }
  checkInt('cohorts', r.cohorts, 1, 65536)
  checkInt('epochs', r.epochs, 1, 1000)
  checkInt('customers', r.customers, 0, 1e6)
  checkInt('customerRequests', r.customerRequests, 0, 1e4)
  checkInt('clusters', r.clusters, 1, 1000)
  checkInt('clusterAccounts', r.clusterAccounts, 1, 1e4)
  checkInt('trainTokens', r.trainTokens, 1, 1e9)
  checkInt('harvestPasses', r.harvestPasses, 1, 100)
  checkInt('probeTokens', r.probeTokens, 1, 1e9)
  if (r.replay !== 'suspects' && r.replay !== 'all') throw new LabError('E_BAD_PARAM', 'replay must be suspects or all')
  if (r.replayKeys !== 'own' && r.replayKeys !== 'every') throw new LabError('E_BAD_PARAM', 'replayKeys must be own or every')
  checkInt('decoys', r.decoys, 0, 1e6)
  checkInt('answerTokens', r.answerTokens, 1, 1e6)
  checkRange('alpha', r.alpha, 1e-300, 0.5)
  checkRange('probeTemperature', r.probeTemperature, 0, 10)
  checkInt('order', r.order, 1, 6)
  checkInt('studentOrder', r.studentOrder, 1, 6)
  checkInt('topK', r.topK, 1, 1e6)
  checkInt('seed', r.seed, 0, 0xffffffff)
  return r
}

/** A simulation schedule's master secret from a seed (simulations only: a provider uses generateSchedule). */
export function simulationSchedule(seed: number, label: string, o: Pick<Resolved, 'cohorts' | 'epochs' | 'config'>): KeySchedule {
  const rng = seededRng(subSeed(seed, label))
  const secret = new Uint8Array(32)
  for (let i = 0; i < 32; i += 4) new DataView(secret.buffer).setUint32(i, rng.nextU32(), true)
  return new KeySchedule(secret, { config: o.config, cohorts: o.cohorts, epochs: o.epochs, epochSeconds: 86400, start: '2026-01-01T00:00:00Z' })
}

interface Request {
  time: number
  account: string
  prompt: number
  harvester: boolean
}

interface Served extends Request {
  epoch: number
  cohort: number
  keyId: string
  promptIds: Uint32Array
  ids: Uint32Array
  response: string
}

export interface AttributionRow {
  rho: number
  cohorts: number
  probe: AttributionProbe
  seed: number
  /** Answer tokens the investigator collected. */
  probeTokens: number
  probeAnswers: number
  tokensScored: number
  log10P: number
  pValue: number
  eValue: number
  log10E: number
  globalRule: ScheduleResult['globalRule']
  alpha: number
  correction: 'holm'
  cohortsFlagged: number[]
  harvestingCohorts: number[]
  falseCohorts: number[]
  missedCohorts: number[]
  epochsFlagged: number[]
  /** Harvested records the student trained on, and the harvest's tokens in its training set (all passes). */
  harvestRecords: number
  harvestPasses: number
  /** Keys each replayed answer was scored under (absent in rows of earlier builds: own). */
  replayKeys?: 'own' | 'every'
  /** Temperature the investigator sampled the student's answers at (absent in rows of earlier builds). */
  probeTemperature?: number
  replay: 'suspects' | 'all'
  replayedRecords: number
  teacherTokens: number
  humanTokens: number
  logRecords: number
  logHead: string
}

const DAY = 86400_000

/**
 * One schedule (B, seed) with its served traffic computed once; `row(rho, probe)` trains a student on the
 * ρ harvest, probes it and scores the answers. Deterministic for its options.
 */
export class Attribution {
  readonly options: Resolved
  readonly schedule: KeySchedule
  readonly prompts: { teacher: string[]; probe: string[] }
  private readonly teacher: NGramModel
  private readonly human: Uint32Array[]
  private humanMore: string[] | undefined
  private readonly humanChapters: number
  private readonly customerTraffic: Served[]
  private readonly harvest: Served[] = []
  private readonly promptIds: Uint32Array[]

  constructor(options: AttributionOptions = {}) {
    const o = (this.options = resolveAttributionOptions(options))
    this.schedule = simulationSchedule(o.seed, `attribution/schedule/${o.cohorts}`, o)
    this.prompts = splitPrompts(o.teacherPrompts)
    this.teacher = partModel(o.tokenizer, 'teacher', o.order)
    this.human = encodeCorpus(o.tokenizer, 'student')
    this.humanChapters = this.human.length
    this.promptIds = this.prompts.teacher.map((p) => o.tokenizer.encode(p))
    const rng = seededRng(subSeed(o.seed, 'attribution/traffic'))
    const reqs: Request[] = []
    for (let a = 0; a < o.customers; a++) {
      for (let q = 0; q < o.customerRequests; q++) {
        const epoch = Math.floor(rng.nextFloat() * o.epochs)
        reqs.push({ time: Date.parse('2026-01-01T00:00:00Z') + epoch * DAY + Math.floor(rng.nextFloat() * DAY), account: `cust-${a}`, prompt: Math.floor(rng.nextFloat() * o.teacherPrompts), harvester: false })
      }
    }
    this.customerTraffic = reqs.map((r, i) => this.serve(r, `customer/${i}`))
  }

  /** The i-th harvesting request: clusters take turns, cluster k works from epoch k mod E onwards. */
  private harvestRequest(i: number): Request {
    const o = this.options
    const k = i % o.clusters
    const j = Math.floor(i / o.clusters) % o.clusterAccounts
    const epoch = (k + Math.floor(i / (o.clusters * o.clusterAccounts))) % o.epochs
    const rng = seededRng(subSeed(o.seed, `attribution/harvest/${i}`))
    return { time: Date.parse('2026-01-01T00:00:00Z') + epoch * DAY + Math.floor(rng.nextFloat() * DAY), account: `harv-${k}-${j}`, prompt: Math.floor(rng.nextFloat() * o.teacherPrompts), harvester: true }
  }

  private serve(r: Request, label: string): Served {
    const o = this.options
    const ck = this.schedule.keyForAccount(r.account, r.time)
    const sampler = watermarkSampler(ck.key, { topK: o.topK }, seededRng(subSeed(o.seed, `attribution/teacher/${label}`)))
    const promptIds = this.promptIds[r.prompt]
    const { ids } = generateIds(this.teacher, promptIds, { maxTokens: o.answerTokens, topK: o.topK, sampler })
    return { ...r, epoch: ck.epoch, cohort: ck.cohort, keyId: ck.key.keyId, promptIds, ids, response: o.tokenizer.decode(ids) }
  }

  /** Harvested records until their prompt + response tokens reach `tokens` (served on demand, in order). */
  private harvestFor(tokens: number): Served[] {
    const out: Served[] = []
    let got = 0
    for (let i = 0; got < tokens; i++) {
      if (i >= 100_000) throw new LabError('E_BAD_PARAM', 'the teacher produces empty responses; check the model')
      if (i === this.harvest.length) this.harvest.push(this.serve(this.harvestRequest(i), `harvest/${i}`))
      const h = this.harvest[i]
      out.push(h)
      got += h.promptIds.length + h.ids.length
    }
    return out
  }

  /** Human sequences holding at least `tokens` tokens (or all there are): the `student` chapters, then addresses. */
  private humanFor(tokens: number): Uint32Array[] {
    let have = this.human.reduce((a, h) => a + h.length, 0)
    while (have < tokens) {
      this.humanMore ??= stateOfTheUnion()
      const next = this.humanMore[this.human.length - this.humanChapters]
      if (next === undefined) break
      const ids = this.options.tokenizer.encode(next)
      this.human.push(ids)
      have += ids.length
    }
    return this.human
  }

  /** The student for ρ: prompt + response sequences of the harvest (the last one cut), then human text. */
  student(rho: number): { model: NGramModel; trained: Served[]; teacherTokens: number; humanTokens: number } {
    checkRange('rho', rho, 0, 1)
    const o = this.options
    const want = Math.round(rho * o.trainTokens)
    const passes = o.harvestPasses
    const distinct = Math.round(want / passes)
    const trained = distinct > 0 ? this.harvestFor(distinct) : []
    const sequences: Uint32Array[] = []
    let teacherTokens = 0
    for (let pass = 0; pass < passes; pass++) {
      let got = 0
      for (const h of trained) {
        const seq = new Uint32Array(h.promptIds.length + h.ids.length)
        seq.set(h.promptIds, 0)
        seq.set(h.ids, h.promptIds.length)
        const piece = seq.subarray(0, Math.min(seq.length, distinct - got))
        if (piece.length > 0) sequences.push(piece)
        got += piece.length
      }
      teacherTokens += got
    }
    let humanTokens = 0
    for (const s of this.humanFor(o.trainTokens - teacherTokens)) {
      if (humanTokens >= o.trainTokens - teacherTokens) break
      const piece = s.subarray(0, Math.min(s.length, o.trainTokens - teacherTokens - humanTokens))
      sequences.push(piece)
      humanTokens += piece.length
    }
    if (humanTokens < o.trainTokens - teacherTokens) throw new LabError('E_BAD_PARAM', `not enough human text for ${o.trainTokens} training tokens`)
    return { model: NGramModel.train(sequences, { order: o.studentOrder, vocabSize: o.tokenizer.vocabSize }), trained, teacherTokens, humanTokens }
  }

  /** The serving log of the ρ world, in time order (customers plus the harvest; at ρ = 0 the ρ = 1 % harvest). */
  log(rho: number): { records: Served[]; logRecords: LogRecord[]; head: string } {
    const o = this.options
    const harvest = this.harvestFor(Math.round(((rho > 0 ? rho : 0.01) * o.trainTokens) / o.harvestPasses))
    const records = [...this.customerTraffic, ...harvest].sort((a, b) => a.time - b.time || (a.account < b.account ? -1 : 1))
    const log = new ServingLog({ scheduleId: this.schedule.scheduleId, created: '2026-01-01T00:00:00Z' })
    const logRecords = records.map((r) => log.append({ time: new Date(r.time), account: r.account, epoch: r.epoch, cohort: r.cohort, keyId: r.keyId, prompt: this.prompts.teacher[r.prompt], response: r.response }).record)
    return { records, logRecords, head: log.head().head }
  }

  /** The suspected accounts: every harvesting account and the first `decoys` customers. */
  suspects(): Set<string> {
    const o = this.options
    const out = new Set<string>()
    for (let k = 0; k < o.clusters; k++) for (let j = 0; j < o.clusterAccounts; j++) out.add(`harv-${k}-${j}`)
    for (let a = 0; a < Math.min(o.decoys, o.customers); a++) out.add(`cust-${a}`)
    return out
  }

  /** The log records of `selected` (the records under investigation: their texts make the filters). */
  selectedLog(log: { records: Served[]; logRecords: LogRecord[] }, selected: readonly Served[]): LogRecord[] {
    const keep = new Set(selected)
    return log.logRecords.filter((_, i) => keep.has(log.records[i]))
  }

  /** The records under investigation, which a replay probe asks (option `replay`). */
  replayed(records: readonly Served[]): Served[] {
    if (this.options.replay === 'all') return [...records]
    const s = this.suspects()
    return records.filter((r) => s.has(r.account))
  }

  /**
   * The student's answers as an investigator sees them (decoded, normalised, re-tokenized): to the log's
   * records (replay: shuffled, cycling with fresh seeds) or to the held-out prompts, up to the budget.
   */
  answers(model: NGramModel, probe: AttributionProbe, records: readonly Served[]): { ids: Uint32Array; promptIds: Uint32Array; record?: Served }[] {
    const o = this.options
    const tk = o.tokenizer
    const order = records.map((_, i) => i)
    const rng = seededRng(subSeed(o.seed, 'attribution/replay-order'))
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng.nextFloat() * (i + 1))
      ;[order[i], order[j]] = [order[j], order[i]]
    }
    const heldout = this.prompts.probe.map((p) => tk.encode(normalizeText(p).text))
    const out: { ids: Uint32Array; promptIds: Uint32Array; record?: Served }[] = []
    let tokens = 0
    for (let i = 0; tokens < o.probeTokens; i++) {
      if (i > 100 * Math.max(1, records.length, heldout.length) + 1000) break // a student that answers nothing
      const record = probe === 'replay' ? records[order[i % order.length]] : undefined
      const promptIds = record ? tk.encode(normalizeText(this.prompts.teacher[record.prompt]).text) : heldout[i % heldout.length]
      const gen = generateIds(model, promptIds, { maxTokens: o.answerTokens, topK: o.topK, temperature: o.probeTemperature, seed: subSeed(o.seed, `attribution/probe/${probe}/${i}`) })
      const ids = tk.encode(normalizeText(tk.decode(gen.ids)).text)
      out.push({ ids, promptIds, record })
      tokens += ids.length
    }
    return out
  }

  /**
   * Scores answers against a schedule: keyed replay, or every key for held-out answers; with per-key
   * emission filters from the log when `logRecords` is given (records as that schedule assigns them).
   */
  score(schedule: KeySchedule, probe: AttributionProbe, answers: ReturnType<Attribution['answers']>, logRecords?: readonly LogRecord[], cohortOf?: (r: Served) => { cohort: number; epoch: number }): ScheduleResult {
    const scorer = new ScheduleScorer(schedule)
    const filters = logRecords ? logKeyFilters(schedule, logRecords, this.options.tokenizer) : undefined
    if (probe === 'replay') {
      const own = answers.map((a) => (cohortOf ? cohortOf(a.record as Served) : (a.record as Served)))
      const every = this.options.replayKeys === 'every' ? [...new Map(own.map((ck) => [ck.epoch * schedule.cohortCount + ck.cohort, ck])).values()] : undefined
      answers.forEach((a, i) => scorer.addUnderKeys(every ?? [own[i]], a.ids, a.promptIds, filters))
    } else scorer.scoreRing(answers, filters)
    return scorer.result({ alpha: this.options.alpha })
  }

  row(rho: number, probe: AttributionProbe): AttributionRow {
    const o = this.options
    const { model, trained, teacherTokens, humanTokens } = this.student(rho)
    const log = this.log(rho)
    const selected = this.replayed(log.records)
    const answers = this.answers(model, probe, selected)
    const r = this.score(this.schedule, probe, answers, o.logFilter ? this.selectedLog(log, selected) : undefined)
    const harvesting = [...new Set(trained.map((h) => h.cohort))].sort((a, b) => a - b)
    const flagged = r.cohortsFlagged
    return {
      rho,
      cohorts: o.cohorts,
      probe,
      seed: o.seed,
      probeTokens: answers.reduce((a, x) => a + x.ids.length, 0),
      probeAnswers: answers.length,
      tokensScored: r.tokensScored,
      log10P: r.log10P,
      pValue: r.pValue,
      eValue: r.eValue,
      log10E: r.log10E,
      globalRule: r.globalRule,
      alpha: r.alpha,
      correction: r.correction,
      cohortsFlagged: flagged,
      harvestingCohorts: harvesting,
      falseCohorts: flagged.filter((c) => !harvesting.includes(c)),
      missedCohorts: harvesting.filter((c) => !flagged.includes(c)),
      epochsFlagged: r.epochsFlagged,
      harvestRecords: trained.length,
      harvestPasses: o.harvestPasses,
      probeTemperature: o.probeTemperature,
      replayKeys: o.replayKeys,
      replay: o.replay,
      replayedRecords: probe === 'replay' ? this.replayed(log.records).length : 0,
      teacherTokens,
      humanTokens,
      logRecords: log.records.length,
      logHead: log.head,
    }
  }

  /**
   * Validity at ρ = 0 over `schedules` independent schedules: the student (trained on human text only)
   * and its answers do not depend on the schedule, so they are drawn once and scored under fresh master
   * secrets, each re-assigning the log's accounts to cohorts. Returns the global p-values, their KS test
   * against the uniform law, and how many runs flagged any cohort (nominally at most α · schedules).
   */
  nullRuns(probe: AttributionProbe, schedules: number): { log10Ps: number[]; ks: { statistic: number; pValue: number }; runsFlagged: number; cohortTestsBelowAlpha: number; cohortTests: number } {
    checkInt('schedules', schedules, 1, 1e6)
    const o = this.options
    const { model } = this.student(0)
    const log = this.log(0)
    const selected = this.replayed(log.records)
    const answers = this.answers(model, probe, selected)
    const selectedLog = this.selectedLog(log, selected)
    const log10Ps: number[] = []
    let runsFlagged = 0
    let below = 0
    let tests = 0
    for (let s = 0; s < schedules; s++) {
      const sch = simulationSchedule(o.seed, `attribution/null/${o.cohorts}/${s}`, o)
      const assign = (rec: { time: number | string; account: string }) => {
        const epoch = sch.epochAt(rec.time)
        const cohort = sch.cohortOf(rec.account, epoch)
        return { cohort, epoch, keyId: sch.keyFor(cohort, epoch).keyId }
      }
      const relogged = o.logFilter ? selectedLog.map((rec) => ({ ...rec, ...assign(rec) })) : undefined
      const r = this.score(sch, probe, answers, relogged, assign)
      log10Ps.push(r.log10P)
      if (r.cohortsFlagged.length > 0) runsFlagged++
      for (const c of r.cohorts) {
        if (c.tokensScored === 0) continue
        tests++
        if (c.pValue <= o.alpha) below++
      }
    }
    const ks = ksUniform(log10Ps.map((l) => 10 ** l))
    return { log10Ps, ks: { statistic: ks.statistic, pValue: ks.pValue }, runsFlagged, cohortTestsBelowAlpha: below, cohortTests: tests }
  }
}

/** One cell: `tokenmark lab attribution --rho R --cohorts B --probe P --seed S`. */
export function runAttribution(rho: number, probe: AttributionProbe, options: AttributionOptions = {}): AttributionRow {
  if (!ATTRIBUTION_PROBES.includes(probe)) throw new LabError('E_BAD_PARAM', `probe must be one of ${ATTRIBUTION_PROBES.join(', ')}`)
  return new Attribution(options).row(rho, probe)
}
