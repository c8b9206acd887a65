/**
 * Scoring against a key schedule (docs/spec.md#replay): one accumulator per (cohort, epoch) key, a global
 * test and one test per cohort and per epoch with Holm's family-wise correction (Holm 1979).
 *
 * Keyed replay (`add` with the serving key): the investigator asks the suspect the prompts the schedule
 * served and scores each answer under the key that served that prompt, prompt tuples excluded, tuples
 * de-duplicated per key. H0: the suspect's answers were written without knowledge of any schedule key.
 * Each scored (key, tuple) then has an independent PRF value (distinct keys give independent values for
 * the same tuple), so the pooled counts over all keys follow the scheme's null model exactly: the global
 * test is one exact test and loses nothing to the number of keys. Per-cohort (all epochs of a cohort
 * pooled) and per-epoch tests are exact too; a cohort is *flagged* when its Holm-adjusted p-value over
 * the schedule's B + canaries cohorts (a family fixed in advance, whatever the probe touched) is ≤ α,
 * so P[any cohort without signal is flagged] ≤ α.
 *
 * Ring scoring (`scoreRing`, held-out probing): with no serving key, every answer is scored under every
 * key of the ring. Pooling then dilutes the signal by the ring size, so the global test is the best
 * cohort's p-value with a Bonferroni correction over the cohorts (`globalRule: 'bonferroni'`).
 */
import { Accumulator } from './accumulate.js'
import { TokenmarkError } from './errors.js'
import { eValueFor } from './evalue.js'
import { EmissionFilter } from './emission.js'
import type { KeySchedule, CohortKey } from './schedule.js'
import type { LogRecord } from './servelog.js'
import type { Tokenizer } from './tokenizers/index.js'
import { forEachTuple, prepareKey, scoreTokens, type ContextFilter } from './scoring.js'
import type { NullModel } from './schemes/types.js'
import { tailTest } from './significance.js'
import { pFromLog10 } from './stats/pvalue.js'

export interface GroupTest {
  tokensScored: number
  value: number
  log10P: number
  pValue: number
  /** Holm-adjusted log10 p-value within its family. */
  adjustedLog10P: number
  flagged: boolean
}

export interface CohortTest extends GroupTest {
  cohort: number
  label: string
}

export interface EpochTest extends GroupTest {
  epoch: number
}

export interface ScheduleResult {
  scheduleId: string
  /** `pooled` (keyed replay: one exact test over every scored tuple) or `bonferroni` (best cohort × cohorts). */
  globalRule: 'pooled' | 'bonferroni'
  tokensSeen: number
  tokensScored: number
  log10P: number
  pValue: number
  zScore: number
  eValue: number
  log10E: number
  /** Family-wise error rate at which cohorts and epochs are flagged. */
  alpha: number
  correction: 'holm'
  /** Cohorts in the family (B + canaries), whatever the probe touched. */
  cohortFamily: number
  cohorts: CohortTest[]
  epochs: EpochTest[]
  cohortsFlagged: number[]
  epochsFlagged: number[]
  /** (cohort, epoch) keys that scored at least one tuple. */
  keysUsed: number
}

/** Holm step-down adjusted log10 p-values, for a family of `m` ≥ tests.length hypotheses (absent ones count as p = 1). */
export function holmAdjust(log10Ps: readonly number[], m: number = log10Ps.length): number[] {
  const order = log10Ps.map((_, i) => i).sort((a, b) => log10Ps[a] - log10Ps[b])
  const out = new Array<number>(log10Ps.length)
  let running = -Infinity
  order.forEach((idx, rank) => {
    const adj = Math.min(0, log10Ps[idx] + Math.log10(m - rank))
    running = Math.max(running, adj)
    out[idx] = running
  })
  return out
}

/** Per-key emission filters (key id → filter); a key without one scores nothing when filters are given. */
export type KeyFilters = ReadonlyMap<string, ContextFilter>

/**
 * Emission filters per (cohort, epoch) key built after the fact from a serving log's texts: the contexts
 * of every response each key served (core's EmissionFilter, keyed on contexts only — emission.ts explains
 * why that keeps the test valid). Records without texts are skipped; `falsePositiveRate` as EmissionFilter.
 */
export function logKeyFilters(schedule: KeySchedule, records: readonly LogRecord[], tokenizer: Tokenizer, falsePositiveRate = 1e-4): Map<string, EmissionFilter> {
  const byKey = new Map<string, { ck: CohortKey; items: { prompt: Uint32Array; ids: Uint32Array }[]; tokens: number }>()
  for (const r of records) {
    if (r.prompt === undefined || r.response === undefined) continue
    let g = byKey.get(r.keyId)
    if (!g) {
      const key = schedule.keyFor(r.cohort, r.epoch)
      g = { ck: { cohort: r.cohort, epoch: r.epoch, label: schedule.cohortLabel(r.cohort), key }, items: [], tokens: 0 }
      byKey.set(r.keyId, g)
    }
    const ids = tokenizer.encode(r.response)
    g.items.push({ prompt: tokenizer.encode(r.prompt), ids })
    g.tokens += ids.length
  }
  const out = new Map<string, EmissionFilter>()
  for (const [keyId, g] of byKey) {
    const f = new EmissionFilter({ capacity: Math.max(1, g.tokens), falsePositiveRate })
    const pk = prepareKey(g.ck.key)
    for (const it of g.items) f.recordResponse(pk, it.ids, it.prompt)
    out.set(keyId, f)
  }
  return out
}

export class ScheduleScorer {
  readonly schedule: KeySchedule
  private readonly accs = new Map<number, Accumulator>()
  /** Ring scoring keeps only each key's counts (scoreRing). */
  private readonly ringCounts = new Map<number, { tokensScored: number; sum: number }>()
  /** Keys whose evidence was scored elsewhere (mergeKey): their counts. */
  private readonly keyCounts = new Map<number, { tokensScored: number; sum: number }>()
  private readonly excludedPrompts = new Map<number, Set<string>>()
  private readonly dedup: boolean
  private tokensSeen = 0
  private ring = false
  private nullModel: NullModel | undefined

  constructor(schedule: KeySchedule, opts: { dedup?: boolean } = {}) {
    this.schedule = schedule
    this.dedup = opts.dedup ?? true
  }

  private accFor(ck: Pick<CohortKey, 'cohort' | 'epoch'>): Accumulator {
    const slot = ck.epoch * this.schedule.cohortCount + ck.cohort
    let acc = this.accs.get(slot)
    if (!acc) {
      acc = new Accumulator(prepareKey(this.schedule.keyFor(ck.cohort, ck.epoch)), { dedup: this.dedup })
      this.nullModel ??= acc.nullModel
      this.accs.set(slot, acc)
    }
    return acc
  }

  /**
   * Scores one answer under the key of (cohort, epoch) — the key that served its prompt. The prompt's
   * tuples are excluded under that key for the whole test (order-independent: see accumulate.ts).
   */
  add(ck: Pick<CohortKey, 'cohort' | 'epoch'>, ids: ArrayLike<number>, promptIds?: ArrayLike<number>, filter?: ContextFilter): void {
    this.tokensSeen += ids.length
    this.scoreUnder(ck, ids, promptIds, filter)
  }

  /**
   * Scores one answer under each key of `keys` — e.g. every key that served a record under investigation,
   * whichever record this answer replays. Under H0 each (key, tuple) is still an independent draw (distinct
   * keys, independent PRF values) and the key set is fixed before any answer is read, so the pooled global
   * test stays exact with no correction. A student blends its harvest across prompts; scored this way, a
   * fragment counts under the key that served it wherever it appears (docs/spec.md#replay). With `filters`,
   * a key without one scores nothing; `keys` = [the answer's own serving key] is plain keyed replay.
   */
  addUnderKeys(keys: readonly Pick<CohortKey, 'cohort' | 'epoch'>[], ids: ArrayLike<number>, promptIds?: ArrayLike<number>, filters?: KeyFilters): void {
    this.tokensSeen += ids.length
    for (const ck of keys) {
      const filter = filters?.get(this.schedule.keyFor(ck.cohort, ck.epoch).keyId)
      if (filters && !filter) continue
      this.scoreUnder(ck, ids, promptIds, filter)
    }
  }

  /**
   * Takes a key's whole evidence scored elsewhere: the accumulator of (cohort, epoch)'s key holding every
   * answer that key served, as `add` would have filled it (prompt tuples excluded, prompt as context) — e.g.
   * a server case's merged accumulator of that key (accumulators merge exactly: accumulate.ts). Only its
   * counts are read, nothing is copied, so it must be the key's only evidence here: a key taken twice, or
   * also given answers by `add`, is refused (its parts' common tuples would count twice).
   */
  mergeKey(ck: Pick<CohortKey, 'cohort' | 'epoch'>, acc: Accumulator): void {
    const slot = ck.epoch * this.schedule.cohortCount + ck.cohort
    if (acc.keyId !== this.schedule.keyFor(ck.cohort, ck.epoch).keyId) throw new TokenmarkError('E_ACCUMULATOR_MISMATCH', `the accumulator is not of the key of cohort ${ck.cohort}, epoch ${ck.epoch}`)
    if (this.accs.has(slot) || this.keyCounts.has(slot)) throw new TokenmarkError('E_BAD_INPUT', `cohort ${ck.cohort}, epoch ${ck.epoch}: a key's evidence is taken once (merge its parts first)`)
    this.nullModel ??= acc.nullModel
    this.keyCounts.set(slot, { tokensScored: acc.tokensScored, sum: acc.sum })
    this.tokensSeen += acc.tokensTotal
  }

  /**
   * Scores answers under every key of the schedule (held-out probing: no serving key), key by key so
   * that only one de-duplication set is alive at a time; every answer's prompt is excluded under every key.
   */
  scoreRing(answers: readonly { ids: ArrayLike<number>; promptIds?: ArrayLike<number> }[], filters?: KeyFilters): void {
    this.ring = true
    for (const a of answers) this.tokensSeen += a.ids.length
    for (const ck of this.schedule.keys()) {
      if (filters && !filters.has(ck.key.keyId)) continue // a key that served nothing scores nothing
      const pk = prepareKey(ck.key)
      const acc = new Accumulator(pk, { dedup: this.dedup })
      this.nullModel ??= acc.nullModel
      for (const a of answers) if (a.promptIds && a.promptIds.length > 0) forEachTuple(pk, a.promptIds, (w0, w1) => acc.excludeTuple(w0, w1))
      const filter = filters?.get(ck.key.keyId)
      for (const a of answers) scoreTokens(pk, a.ids, acc, { context: a.promptIds, filter })
      const slot = ck.epoch * this.schedule.cohortCount + ck.cohort
      const prev = this.ringCounts.get(slot) ?? { tokensScored: 0, sum: 0 }
      this.ringCounts.set(slot, { tokensScored: prev.tokensScored + acc.tokensScored, sum: prev.sum + acc.sum })
    }
  }

  private scoreUnder(ck: Pick<CohortKey, 'cohort' | 'epoch'>, ids: ArrayLike<number>, promptIds?: ArrayLike<number>, filter?: ContextFilter): void {
    const acc = this.accFor(ck)
    const pk = prepareKey(this.schedule.keyFor(ck.cohort, ck.epoch))
    if (promptIds && promptIds.length > 0) {
      const slot = ck.epoch * this.schedule.cohortCount + ck.cohort
      const seen = this.excludedPrompts.get(slot) ?? new Set<string>()
      this.excludedPrompts.set(slot, seen)
      const id = Array.prototype.join.call(promptIds, ',')
      if (!seen.has(id)) {
        seen.add(id)
        forEachTuple(pk, promptIds, (w0, w1) => acc.excludeTuple(w0, w1))
      }
    }
    scoreTokens(pk, ids, acc, { context: promptIds, filter })
  }

  result(opts: { alpha?: number } = {}): ScheduleResult {
    const alpha = opts.alpha ?? 0.01
    const s = this.schedule
    const C = s.cohortCount
    const E = s.params.epochs
    const cn = new Float64Array(C)
    const cv = new Float64Array(C)
    const en = new Float64Array(E)
    const ev = new Float64Array(E)
    for (const [slot, acc] of [...this.accs, ...this.ringCounts, ...this.keyCounts]) {
      const c = slot % C
      const e = (slot - c) / C
      cn[c] += acc.tokensScored
      cv[c] += acc.sum
      en[e] += acc.tokensScored
      ev[e] += acc.sum
    }
    const model = this.nullModel ?? { kind: 'binomial', p: 0.5, trialsPerToken: 1 }
    const group = (n: number, v: number) => tailTest(model as NullModel, n, v).log10P
    const cLog = Array.from(cn, (n, c) => group(n, cv[c]))
    const eLog = Array.from(en, (n, e) => group(n, ev[e]))
    const cAdj = holmAdjust(cLog, C)
    const eAdj = holmAdjust(eLog, E)
    const lg10a = Math.log10(alpha)
    const cohorts: CohortTest[] = cLog.map((l, c) => ({ cohort: c, label: s.cohortLabel(c), tokensScored: cn[c], value: cv[c], log10P: l, pValue: pFromLog10(l), adjustedLog10P: cAdj[c], flagged: cn[c] > 0 && cAdj[c] <= lg10a }))
    const epochs: EpochTest[] = eLog.map((l, e) => ({ epoch: e, tokensScored: en[e], value: ev[e], log10P: l, pValue: pFromLog10(l), adjustedLog10P: eAdj[e], flagged: en[e] > 0 && eAdj[e] <= lg10a }))
    let n = 0
    let v = 0
    for (let c = 0; c < C; c++) {
      n += cn[c]
      v += cv[c]
    }
    let log10P: number
    let zScore: number
    let log10E: number
    if (!this.ring) {
      ;({ log10P, zScore } = tailTest(model as NullModel, n, v))
      log10E = eValueFor(model as NullModel, n, v).log10E
    } else {
      // Best cohort, Bonferroni over the C cohorts; the mean of C e-values is an e-value, and max/C ≤ mean.
      let best = 0
      for (let c = 1; c < C; c++) if (cLog[c] < cLog[best]) best = c
      log10P = Math.min(0, cLog[best] + Math.log10(C))
      zScore = tailTest(model as NullModel, cn[best], cv[best]).zScore
      log10E = eValueFor(model as NullModel, cn[best], cv[best]).log10E - Math.log10(C)
    }
    return {
      scheduleId: s.scheduleId,
      globalRule: this.ring ? 'bonferroni' : 'pooled',
      tokensSeen: this.tokensSeen,
      tokensScored: n,
      log10P,
      pValue: pFromLog10(log10P),
      zScore,
      // Capped at the largest double (log10E carries the rest), as core's Outcome does: JSON has no Infinity.
      eValue: Math.min(10 ** log10E, Number.MAX_VALUE),
      log10E,
      alpha,
      correction: 'holm',
      cohortFamily: C,
      cohorts,
      epochs,
      cohortsFlagged: cohorts.filter((c) => c.flagged).map((c) => c.cohort),
      epochsFlagged: epochs.filter((e) => e.flagged).map((e) => e.epoch),
      keysUsed: [...this.accs.values(), ...this.ringCounts.values(), ...this.keyCounts.values()].filter((a) => a.tokensScored > 0).length,
    }
  }
}
