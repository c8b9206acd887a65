/**
 * Distillation simulation (issue 3 §5): does a student trained on a teacher's watermarked responses carry
 * the watermark, and how many of its tokens does an investigator need to show it?
 *
 * - Teacher: an n-gram model on the `teacher` part, serving watermarked responses (top-k 50 over its own
 *   exact candidates) to the first `teacherPrompts` prompts, cycling through them with fresh seeds until it
 *   has served enough tokens; every response is recorded in an emission filter (core's, over contexts).
 * - Student: an n-gram model trained on `trainTokens` tokens, a fraction ρ of them (counted in tokens)
 *   teacher responses taken in serving order, the rest human text from the `student` part (chapters in
 *   book order, the last one cut). Teacher and student parts are disjoint chapters, so the student's human
 *   text never overlaps what the teacher learned from. Each response is one training sequence (its prompt
 *   not included: ρ counts response tokens only).
 * - Probe: the student answers the held-out prompts (never served by the teacher) without any watermark,
 *   temperature 1 with top-k 50 (as the teacher; untruncated sampling would also draw ids that are gaps
 *   in o200k's id space, which no API could return).
 * - Test: core's corpus test on the answers as text (normalised and re-tokenized, as `tokenmark scan` sees
 *   them): de-duplication across the whole corpus, tuples of the probe prompts excluded, and one of three
 *   emission-filter modes (`DistillFilter`): `off`; `served`, every context the teacher served (what a
 *   provider that cannot tell harvesters from customers records); `accounts`, only the contexts of the
 *   responses served to the harvesting accounts (what a provider that logs the account of every response,
 *   as examples/provider-api does, records once it has identified them). Under H0 (ρ = 0: the student never
 *   saw a watermarked token) the p-value is exact and the e-value is valid at any stopping time.
 *
 * ρ = 0 with the `accounts` filter: the harvesting accounts still harvested (the first `nullHarvestTokens`
 * response tokens, by default the ρ = 1 % harvest), but the student trained on none of it. So the filter is
 * as large as the one the ρ = 1 % row uses, and the ρ = 0 row is that row's null counterpart.
 */
import {
  CorpusScanner,
  EmissionFilter,
  eProcess,
  getTokenizer,
  keyFromSecret,
  normalizeText,
  prepareKey,
  seededRng,
  testAccumulator,
  watermarkSampler,
  type CorpusResult,
  type KeyConfigInput,
  type Tokenizer,
  type WatermarkKey,
} from '@tokenmark/core'
import { prompts as allPrompts } from '../corpus.js'
import { LabError, checkInt, checkRange } from '../errors.js'
import { generateIds } from '../generate.js'
import { NGramModel } from '../ngram.js'
import { encodeCorpus } from '../reference.js'
import { subSeed } from '../rng.js'

/**
 * The teacher's default watermark: KGW, γ = 0.25, δ = 2, left-hash over h = 3 previous tokens. h = 3 is
 * the order-4 student's own context: where the student saw a teacher 4-gram it reproduces the teacher's
 * green preference for exactly that (context, token) tuple, and the emission filter, keyed on 3-token
 * contexts, keeps few contexts the teacher never served. Measured on this setup (ρ = 10 %, 400 answers,
 * filter on): h = 1 gives log10 p ≈ −5, h = 2 ≈ −8, h = 3 ≈ −15; without the filter h = 1 and h = 3 are
 * alike (≈ −5 and −6). (For real LLM students, Sander et al. 2024 find smaller h more radioactive.)
 */
export const DISTILL_KEY_CONFIG = { scheme: 'kgw', params: { gamma: 0.25, delta: 2, context: 3 } } as const

/** A deterministic teacher key for a seed (simulations only: a real provider uses `generateKey`). */
export function distillKey(seed: number, config: KeyConfigInput = DISTILL_KEY_CONFIG): WatermarkKey {
  const rng = seededRng(subSeed(seed, 'distill/key'))
  const secret = new Uint8Array(32)
  for (let i = 0; i < 32; i += 4) new DataView(secret.buffer).setUint32(i, rng.nextU32(), true)
  return keyFromSecret(secret, config)
}

/** The ρ values of the table in docs/results.md. */
export const DISTILL_RHOS: readonly number[] = [0, 0.005, 0.01, 0.05, 0.1, 1]

/**
 * Which contexts the corpus test scores:
 * - `off`: all;
 * - `served`: contexts of every response the teacher served (`servedTokens`, whatever ρ is);
 * - `accounts`: contexts of the responses the harvesting accounts received — the ones in the student's
 *   training mix (whole responses; at ρ = 0 the first `nullHarvestTokens` response tokens, never trained on).
 * Both filters key on contexts, never on (context, token) tuples (core's emission.ts explains why that
 * keeps the test valid), and both are built before the student's answers are seen.
 */
export type DistillFilter = 'off' | 'served' | 'accounts'
export const DISTILL_FILTERS: readonly DistillFilter[] = ['off', 'served', 'accounts']

/**
 * A filter mode from a CLI value: absent or false → `off`; true (a bare `--filter`) → `served`, as before
 * the `accounts` mode existed; otherwise one of `off`, `served` (alias `on`), `accounts`.
 */
export function parseDistillFilter(v: string | boolean | undefined): DistillFilter {
  if (v === undefined || v === false) return 'off'
  if (v === true || v === 'on') return 'served'
  if ((DISTILL_FILTERS as readonly string[]).includes(v)) return v as DistillFilter
  throw new LabError('E_BAD_PARAM', `--filter must be one of ${DISTILL_FILTERS.join(', ')} (a bare --filter means served), not ${JSON.stringify(v)}`)
}

export interface DistillOptions {
  /** n-gram order of teacher and student (default 4). */
  order?: number
  /** Student training tokens, teacher and human together (default 90,000; the student part has ~100,000). */
  trainTokens?: number
  /**
   * Response tokens the teacher serves to the distiller's accounts, all recorded in the emission filter
   * (default: trainTokens, enough for ρ = 100 %). The student trains on the first ρ·trainTokens of them;
   * the provider does not know which, so the filter holds them all whatever ρ is.
   */
  servedTokens?: number
  /**
   * Response tokens the harvesting accounts collected at ρ = 0, where the student trained on none of them
   * (default: round(0.01 · trainTokens), the ρ = 1 % harvest). Only the `accounts` filter uses it.
   */
  nullHarvestTokens?: number
  /**
   * False-positive rate of the `accounts` filter at capacity (default 1e-4). A probe queries ~10⁵
   * distinct contexts and a harvest of ~10³ tokens holds ~10³, so at the `served` filter's 1 % about as
   * many contexts would pass by accident as because they were served, diluting the signal; at 1e-4 about
   * 10 do. Cost: 19 bits per context instead of 9.6. (False positives never affect validity.)
   */
  accountsFilterFpr?: number
  /** Teacher's top-k (default 50). */
  teacherTopK?: number
  /** Tokens per teacher response at most (default 200). */
  responseTokens?: number
  /** Prompts the teacher serves: the first n of `prompts()` (default 200); the rest are held out for probing. */
  teacherPrompts?: number
  /** Student answers collected by the investigator (default 1000), cycling through the held-out prompts. */
  probeAnswers?: number
  /** Tokens per student answer at most (default 200). */
  probeTokens?: number
  /** Student's top-k when it answers (default 50). */
  probeTopK?: number
  /** Seed of every sampling decision that is not the watermark's (default 1). */
  seed?: number
  /** Tokenizer (default: the key's). */
  tokenizer?: Tokenizer
}

type Resolved = Required<Omit<DistillOptions, 'tokenizer'>> & { tokenizer: Tokenizer }

export function resolveDistillOptions(key: WatermarkKey | undefined, o: DistillOptions = {}): Resolved {
  const r = {
    order: o.order ?? 4,
    trainTokens: o.trainTokens ?? 90_000,
    servedTokens: o.servedTokens ?? o.trainTokens ?? 90_000,
    nullHarvestTokens: o.nullHarvestTokens ?? Math.max(1, Math.round(0.01 * (o.trainTokens ?? 90_000))),
    accountsFilterFpr: o.accountsFilterFpr ?? 1e-4,
    teacherTopK: o.teacherTopK ?? 50,
    responseTokens: o.responseTokens ?? 200,
    teacherPrompts: o.teacherPrompts ?? 200,
    probeAnswers: o.probeAnswers ?? 1000,
    probeTokens: o.probeTokens ?? 200,
    probeTopK: o.probeTopK ?? 50,
    seed: o.seed ?? 1,
    tokenizer: o.tokenizer ?? getTokenizer(key?.config.tokenizer ?? 'o200k_base'),
  }
  checkInt('order', r.order, 1, 6)
  checkInt('trainTokens', r.trainTokens, 1, 1e9)
  checkInt('servedTokens', r.servedTokens, 1, 1e9)
  checkInt('nullHarvestTokens', r.nullHarvestTokens, 1, 1e9)
  if (!(r.accountsFilterFpr > 0 && r.accountsFilterFpr < 1)) throw new LabError('E_BAD_PARAM', `accountsFilterFpr must be in (0, 1), not ${r.accountsFilterFpr}`)
  checkInt('teacherTopK', r.teacherTopK, 1, 1e6)
  checkInt('responseTokens', r.responseTokens, 1, 1e6)
  checkInt('probeAnswers', r.probeAnswers, 1, 1e7)
  checkInt('probeTokens', r.probeTokens, 1, 1e6)
  checkInt('probeTopK', r.probeTopK, 1, 1e6)
  checkInt('seed', r.seed, 0, 0xffffffff)
  const n = allPrompts().length
  checkInt('teacherPrompts', r.teacherPrompts, 1, n - 1)
  return r
}

/** A prompt and the tokens that answer it. */
export interface Exchange {
  prompt: string
  promptIds: Uint32Array
  ids: Uint32Array
}

const models = new Map<string, NGramModel>()

/** An n-gram model on a corpus part, memoised per tokenizer, part and order (training takes ~1 s). */
export function partModel(tokenizer: Tokenizer, part: 'teacher' | 'student' | 'heldout' | 'train', order = 4): NGramModel {
  const id = `${tokenizer.name}/${part}/${order}`
  let m = models.get(id)
  if (m === undefined) {
    m = NGramModel.train(encodeCorpus(tokenizer, part), { order, vocabSize: tokenizer.vocabSize })
    models.set(id, m)
  }
  return m
}

/** The prompts the teacher serves and the held-out ones the investigator probes with (disjoint). */
export function splitPrompts(teacherPrompts: number): { teacher: string[]; probe: string[] } {
  const all = allPrompts()
  return { teacher: all.slice(0, teacherPrompts), probe: all.slice(teacherPrompts) }
}

export interface ServedResponses {
  responses: Exchange[]
  /** Response tokens served. */
  tokens: number
  /** Contexts of every served response (core's emission filter, 1 % false positives at capacity). */
  filter: EmissionFilter
}

/**
 * The teacher serves watermarked responses until it has served at least `tokens` response tokens,
 * cycling through `prompts` (response i answers prompt i mod n, with its own sampling seed).
 */
export function serveTeacher(teacher: NGramModel, key: WatermarkKey, prompts: readonly string[], tokens: number, o: Resolved): ServedResponses {
  const tk = o.tokenizer
  const promptIds = prompts.map((p) => tk.encode(p))
  const responses: Exchange[] = []
  let served = 0
  for (let i = 0; served < tokens; i++) {
    if (i > 1000 * prompts.length) throw new LabError('E_BAD_PARAM', 'the teacher produces empty responses; check the model')
    const j = i % prompts.length
    const sampler = watermarkSampler(key, { topK: o.teacherTopK }, seededRng(subSeed(o.seed, `teacher/${i}`)))
    const { ids } = generateIds(teacher, promptIds[j], { maxTokens: o.responseTokens, topK: o.teacherTopK, sampler })
    responses.push({ prompt: prompts[j], promptIds: promptIds[j], ids })
    served += ids.length
  }
  return { responses, tokens: served, filter: recordFilter(key, responses) }
}

/** An emission filter (false-positive rate `falsePositiveRate` at capacity, default 1 %) holding the contexts of `responses`. */
export function recordFilter(key: WatermarkKey, responses: readonly Exchange[], falsePositiveRate = 0.01): EmissionFilter {
  const pk = prepareKey(key)
  const tokens = responses.reduce((a, r) => a + r.ids.length, 0)
  const filter = new EmissionFilter({ capacity: Math.max(1, tokens), falsePositiveRate })
  for (const r of responses) filter.recordResponse(pk, r.ids, r.promptIds)
  return filter
}

/**
 * The responses a harvest of `tokens` response tokens collected: whole responses in serving order until
 * `tokens` is reached — the ones `mixTrainingSet` draws its teacher tokens from (it may cut the last).
 */
export function harvestedResponses(responses: readonly Exchange[], tokens: number): Exchange[] {
  const out: Exchange[] = []
  let got = 0
  for (const r of responses) {
    if (got >= tokens) break
    out.push(r)
    got += r.ids.length
  }
  if (got < tokens) throw new LabError('E_BAD_PARAM', `not enough served responses for a harvest of ${tokens} tokens (served ${got})`)
  return out
}

export interface TrainingMix {
  sequences: Uint32Array[]
  teacherTokens: number
  humanTokens: number
}

/** ρ·trainTokens (rounded) teacher response tokens in serving order, the rest human chapters in order. */
export function mixTrainingSet(responses: readonly Exchange[], human: readonly Uint32Array[], rho: number, trainTokens: number): TrainingMix {
  checkRange('rho', rho, 0, 1)
  const wantTeacher = Math.round(rho * trainTokens)
  const sequences: Uint32Array[] = []
  const take = (src: readonly Uint32Array[], want: number, what: string): number => {
    let got = 0
    for (const s of src) {
      if (got >= want) break
      const piece = s.subarray(0, Math.min(s.length, want - got))
      if (piece.length > 0) sequences.push(piece)
      got += piece.length
    }
    if (got < want) throw new LabError('E_BAD_PARAM', `not enough ${what} tokens for the mix: need ${want}, have ${got}`)
    return got
  }
  const teacherTokens = take(responses.map((r) => r.ids), wantTeacher, 'teacher')
  const humanTokens = take(human, trainTokens - wantTeacher, 'human (student part)')
  return { sequences, teacherTokens, humanTokens }
}

/**
 * The student's answers to the probe prompts as an investigator sees them: decoded to text, normalised
 * and re-tokenized (`ids`), with their prompts' ids (`promptIds`) as context.
 */
export function probeStudent(student: NGramModel, prompts: readonly string[], o: Resolved): Exchange[] {
  const tk = o.tokenizer
  const promptIds = prompts.map((p) => tk.encode(normalizeText(p).text))
  const out: Exchange[] = []
  for (let i = 0; i < o.probeAnswers; i++) {
    const j = i % prompts.length
    const gen = generateIds(student, promptIds[j], { maxTokens: o.probeTokens, topK: o.probeTopK, seed: subSeed(o.seed, `probe/${i}`) })
    const text = normalizeText(tk.decode(gen.ids)).text
    out.push({ prompt: prompts[j], promptIds: promptIds[j], ids: tk.encode(text) })
  }
  return out
}

/** Core's corpus test over probe answers: prompts excluded, optionally only served contexts. */
export function scanAnswers(key: WatermarkKey, answers: readonly Exchange[], prompts: readonly string[], filter?: EmissionFilter, tokenizer?: Tokenizer): CorpusResult {
  const scanner = new CorpusScanner(key, { tokenizer, prompts, filter })
  for (const a of answers) scanner.addTokens(a.ids, a.promptIds)
  return scanner.result()
}

/**
 * `scanAnswers` answer by answer, also measuring when the evidence arrived: the probe tokens after which
 * p stays below 1e-6, and the probe tokens at which the e-value first reaches 1e6.
 */
export function scanAnswersStream(
  key: WatermarkKey,
  answers: readonly Exchange[],
  prompts: readonly string[],
  filter?: EmissionFilter,
  tokenizer?: Tokenizer,
): { result: CorpusResult; probeTokensToP6: number | null; probeTokensToE6: number | null } {
  const scanner = new CorpusScanner(key, { tokenizer, prompts, filter })
  let seen = 0
  let p6: number | null = null
  let e6: number | null = null
  for (const a of answers) {
    scanner.addTokens(a.ids, a.promptIds)
    seen += a.ids.length
    if (testAccumulator(scanner.accumulator).log10P < -6) p6 ??= seen
    else p6 = null
    if (e6 === null && eProcess(scanner.accumulator).log10E >= 6) e6 = seen
  }
  return { result: scanner.result(), probeTokensToP6: p6, probeTokensToE6: e6 }
}

/** One cell of the table: core's corpus result (as `tokenmark scan --json` prints it) plus the setting. */
export interface DistillRow extends CorpusResult {
  rho: number
  filterMode: DistillFilter
  /** Response tokens whose contexts the filter holds (0 with the filter off). */
  filterTokens: number
  /**
   * Measured, not extrapolated: probe tokens (answers in collection order, whole answers) after which the
   * p-value stays below 1e-6 to the end of the probe; null when it is not below at the end.
   */
  probeTokensToP6: number | null
  /** Probe tokens at which the e-value first reaches 1e6 (a stopping time at which acting is valid); null if never. */
  probeTokensToE6: number | null
  teacherTokens: number
  humanTokens: number
}

export interface DistillSetup {
  keyId: string
  scheme: string
  params: Record<string, unknown>
  options: Omit<Resolved, 'tokenizer'> & { tokenizer: string }
  teacherResponses: number
  teacherTokensServed: number
  filterBytes: number
  filterFalsePositiveRate: number
  /** Response tokens in the `accounts` filter at ρ = 0 (harvested, never trained on). */
  nullHarvestTokens: number
  probeAnswers: number
  probePrompts: number
  probeTokens: number
}

/**
 * The simulation with its shared parts computed once: teacher model, served responses (enough for the
 * largest ρ asked), human text, probe prompts. `row(rho)` trains one student, probes it and scans its
 * answers with the filter off and on.
 */
export class Distillation {
  readonly key: WatermarkKey
  readonly options: Resolved
  readonly prompts: { teacher: string[]; probe: string[] }
  readonly served: ServedResponses
  readonly human: Uint32Array[]
  private probeTokensSeen = 0

  constructor(key: WatermarkKey, options: DistillOptions = {}) {
    this.key = key
    this.options = resolveDistillOptions(key, options)
    const o = this.options
    this.prompts = splitPrompts(o.teacherPrompts)
    const teacher = partModel(o.tokenizer, 'teacher', o.order)
    this.served = serveTeacher(teacher, key, this.prompts.teacher, o.servedTokens, o)
    this.human = encodeCorpus(o.tokenizer, 'student')
  }

  /** The student for ρ (n-gram of the same order on the mix). */
  student(rho: number): { model: NGramModel; mix: TrainingMix } {
    const mix = mixTrainingSet(this.served.responses, this.human, rho, this.options.trainTokens)
    return { model: NGramModel.train(mix.sequences, { order: this.options.order, vocabSize: this.options.tokenizer.vocabSize }), mix }
  }

  /**
   * The responses the harvesting accounts received for a ρ student: those its training mix draws on, or
   * at ρ = 0 a harvest of `nullHarvestTokens` that it never trained on.
   */
  harvest(rho: number): Exchange[] {
    const want = Math.round(rho * this.options.trainTokens)
    return harvestedResponses(this.served.responses, want > 0 ? want : this.options.nullHarvestTokens)
  }

  /**
   * Trains the ρ student, probes it, and returns one row per filter mode, in the order of
   * `DISTILL_FILTERS`: off, served, accounts (so `[off, served]` is what it returned before `accounts`).
   */
  rows(rho: number): [DistillRow, DistillRow, DistillRow] {
    const { model, mix } = this.student(rho)
    const answers = probeStudent(model, this.prompts.probe, this.options)
    this.probeTokensSeen = answers.reduce((a, x) => a + x.ids.length, 0)
    const harvest = this.harvest(rho)
    const filters: Record<DistillFilter, { filter?: EmissionFilter; tokens: number }> = {
      off: { tokens: 0 },
      served: { filter: this.served.filter, tokens: this.served.tokens },
      accounts: { filter: recordFilter(this.key, harvest, this.options.accountsFilterFpr), tokens: harvest.reduce((a, r) => a + r.ids.length, 0) },
    }
    const row = (mode: DistillFilter): DistillRow => {
      const { filter, tokens } = filters[mode]
      const s = scanAnswersStream(this.key, answers, this.prompts.probe, filter, this.options.tokenizer)
      const r = s.result
      return {
        ...r,
        rho,
        filter: mode !== 'off',
        filterMode: mode,
        filterTokens: tokens,
        probeTokensToP6: s.probeTokensToP6,
        probeTokensToE6: s.probeTokensToE6,
        teacherTokens: mix.teacherTokens,
        humanTokens: mix.humanTokens,
      }
    }
    return [row('off'), row('served'), row('accounts')]
  }

  setup(): DistillSetup {
    const { tokenizer, ...rest } = this.options
    return {
      keyId: this.key.keyId,
      scheme: this.key.scheme,
      params: { ...this.key.config.params },
      options: { ...rest, tokenizer: tokenizer.name },
      teacherResponses: this.served.responses.length,
      teacherTokensServed: this.served.tokens,
      filterBytes: this.served.filter.toBytes().length,
      filterFalsePositiveRate: this.served.filter.falsePositiveRate,
      nullHarvestTokens: this.options.nullHarvestTokens,
      probeAnswers: this.options.probeAnswers,
      probePrompts: this.prompts.probe.length,
      probeTokens: this.probeTokensSeen,
    }
  }
}

/** Runs the whole table: every ρ × {filter off, served, accounts}. */
export function runDistillation(key: WatermarkKey, options: DistillOptions = {}, rhos: readonly number[] = DISTILL_RHOS): { setup: DistillSetup; rows: DistillRow[] } {
  const sim = new Distillation(key, options)
  const rows: DistillRow[] = []
  for (const rho of rhos) rows.push(...sim.rows(rho))
  return { setup: sim.setup(), rows }
}
