/**
 * Leaked-text tracing (issue 13 §4, docs/spec.md#trace): given one text, which (cohort, epoch) key of a
 * schedule produced it? Each key of the ring gets its own exact test; the answer is the key with the
 * smallest p-value, corrected for the K = ringSize keys searched (Bonferroni: P[min p ≤ α/K] ≤ α under
 * H0, whatever the dependence between keys), or an explicit "no key" when the corrected p-value is above α.
 */
import { Accumulator } from './accumulate.js'
import type { KeySchedule } from './schedule.js'
import { accountsOf, type LogRecord } from './servelog.js'
import { forEachTuple, prepareKey, scoreTokens } from './scoring.js'
import { tailTest } from './significance.js'
import { pFromLog10 } from './stats/pvalue.js'

export interface TraceResult {
  /** The best key's (cohort, epoch) when its corrected p-value is ≤ α; null means "no key". */
  match: { cohort: number; epoch: number; label: string; keyId: string } | null
  /** Best key's log10 p-value, corrected for the ring size (log10 of min(1, K · p)). */
  log10P: number
  pValue: number
  /** The best key's uncorrected log10 p-value and tokens scored. */
  rawLog10P: number
  tokensScored: number
  /** Keys searched (the correction's K). */
  ringSize: number
  alpha: number
  /** Accounts the matched (cohort, epoch) served, from the log when one is given. */
  accounts?: string[]
}

export function traceText(schedule: KeySchedule, ids: ArrayLike<number>, opts: { promptIds?: ArrayLike<number>; alpha?: number; records?: readonly LogRecord[] } = {}): TraceResult {
  const alpha = opts.alpha ?? 1e-6
  let best: { log10P: number; n: number; cohort: number; epoch: number; label: string; keyId: string } | undefined
  for (const ck of schedule.keys()) {
    const pk = prepareKey(ck.key)
    const acc = new Accumulator(pk)
    if (opts.promptIds) forEachTuple(pk, opts.promptIds, (w0, w1) => acc.excludeTuple(w0, w1))
    scoreTokens(pk, ids, acc, { context: opts.promptIds })
    const { log10P } = tailTest(acc.nullModel, acc.tokensScored, acc.sum)
    if (!best || log10P < best.log10P) best = { log10P, n: acc.tokensScored, cohort: ck.cohort, epoch: ck.epoch, label: ck.label, keyId: ck.key.keyId }
  }
  const b = best as NonNullable<typeof best>
  const K = schedule.ringSize
  const log10P = Math.min(0, b.log10P + Math.log10(K))
  const matched = log10P <= Math.log10(alpha)
  const out: TraceResult = {
    match: matched ? { cohort: b.cohort, epoch: b.epoch, label: b.label, keyId: b.keyId } : null,
    log10P,
    pValue: pFromLog10(log10P),
    rawLog10P: b.log10P,
    tokensScored: b.n,
    ringSize: K,
    alpha,
  }
  if (matched && opts.records) out.accounts = accountsOf(opts.records, b.cohort, b.epoch)
  return out
}
