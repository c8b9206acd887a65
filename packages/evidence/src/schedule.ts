/**
 * The schedule analysis of an evidence bundle (docs/evidence-format.md#schedule; issue 13 §6): replay answers
 * scored against a key schedule with core's ScheduleScorer (docs/spec.md#replay) — the global test, one test
 * per cohort and per epoch with Holm's correction — plus what only the serving log knows: the accounts each
 * flagged cohort served, and the log's integrity (head hash, signed head). `verify` reruns `analyzeSchedule`
 * with the schedule secret and compares `result`; the accounts and the log are the signer's statements.
 */
import { accountsOf, EmissionFilter, fromBase64Url, getTokenizer, normalizeText, ScheduleScorer, toBase64Url, type CohortKey, type KeyFilters, type KeySchedule, type LogRecord, type ScheduleResult, type Tokenizer } from '@tokenmark/core'
import { EvidenceError } from './errors.js'

export interface ScheduleGroupRecord {
  tokensScored: number
  value: number
  log10P: number
  adjustedLog10P: number
  flagged: boolean
}

/** ScheduleResult as a bundle holds it (p- and e-values as their log10; groups that scored nothing left out). */
export interface ScheduleResultRecord {
  globalRule: 'pooled' | 'bonferroni'
  tokensSeen: number
  tokensScored: number
  log10P: number
  zScore: number
  log10E: number
  alpha: number
  correction: 'holm'
  cohortFamily: number
  epochFamily: number
  keysUsed: number
  cohorts: (ScheduleGroupRecord & { cohort: number; label: string })[]
  epochs: (ScheduleGroupRecord & { epoch: number })[]
  cohortsFlagged: number[]
  epochsFlagged: number[]
}

export interface ScheduleRecord {
  scheduleId: string
  commitment: string
  /** Per input (in order), the key id that served its prompt; null for none (then every input is null: ring scoring). */
  servedKeys: (string | null)[]
  result: ScheduleResultRecord
  /** Per flagged cohort, the accounts the serving log shows it served (sorted). */
  accounts: { cohort: number; label: string; accounts: string[] }[]
  /**
   * Per-key emission filters the analysis scored through (absent: none): built from the serving
   * log's texts (`records` of them) so that each key scores only contexts it served (core's logKeyFilters).
   * Sealed as bytes (keyed context ids: they reveal no text), so `verify` reruns the same analysis.
   */
  filters?: { records: number; keys: { keyId: string; filter: string }[] }
  /** Present (`every-served`) when every text was scored under every key that served one of the texts' prompts. */
  scoring?: 'every-served'
  /** The serving log the keys and accounts were read from, when one was given. */
  log: null | {
    records: number
    head: string
    withText: number
    /** The provider's signed head, when given: who signed, and whether it is valid and covers this log. */
    signature: null | { signerId: string; signedAt: string; valid: boolean; coversHead: boolean }
  }
}

export interface ScheduleText {
  text: string
  prompt?: string
  /** The key id that served the text's prompt (keyed replay), or absent (held-out: ring scoring). */
  keyId?: string
}

export interface ScheduleAnalysisOptions {
  alpha: number
  dedup?: boolean
  normalize?: boolean
  /** Prompts excluded everywhere (under every key that scores). */
  prompts?: readonly string[]
  tokenizer?: Tokenizer
  /** Per-key emission filters (key id → filter): a key scores only contexts its filter holds, a key without one nothing. */
  filters?: KeyFilters
  /**
   * Keyed replay only: score every text under every key that served one of the texts' prompts, not only
   * its own (core's ScheduleScorer.addUnderKeys; docs/spec.md#replay).
   */
  everyServedKey?: boolean
}

export function resultRecord(r: ScheduleResult, epochFamily: number): ScheduleResultRecord {
  const group = <T extends { tokensScored: number; value: number; log10P: number; adjustedLog10P: number; flagged: boolean }>(g: T) => ({
    tokensScored: g.tokensScored,
    value: g.value,
    log10P: g.log10P,
    adjustedLog10P: g.adjustedLog10P,
    flagged: g.flagged,
  })
  return {
    globalRule: r.globalRule,
    tokensSeen: r.tokensSeen,
    tokensScored: r.tokensScored,
    log10P: r.log10P,
    zScore: r.zScore,
    log10E: r.log10E,
    alpha: r.alpha,
    correction: r.correction,
    cohortFamily: r.cohortFamily,
    epochFamily,
    keysUsed: r.keysUsed,
    cohorts: r.cohorts.filter((c) => c.tokensScored > 0).map((c) => ({ cohort: c.cohort, label: c.label, ...group(c) })),
    epochs: r.epochs.filter((e) => e.tokensScored > 0).map((e) => ({ epoch: e.epoch, ...group(e) })),
    cohortsFlagged: r.cohortsFlagged,
    epochsFlagged: r.epochsFlagged,
  }
}

/**
 * Scores texts against a schedule: each under the key that served its prompt when every text names one
 * (keyed replay, pooled exact global test), else every text under the whole ring (Bonferroni global test).
 * A mix is refused: the two rules answer different questions.
 */
export function analyzeSchedule(schedule: KeySchedule, texts: readonly ScheduleText[], opts: ScheduleAnalysisOptions): ScheduleResult {
  const keyed = texts.filter((t) => t.keyId !== undefined).length
  if (keyed > 0 && keyed < texts.length) {
    throw new EvidenceError('E_BAD_INPUT', `${keyed} of ${texts.length} texts name their serving key and ${texts.length - keyed} do not; score replay and held-out answers separately`)
  }
  if (opts.everyServedKey === true && keyed === 0) throw new EvidenceError('E_BAD_INPUT', 'scoring under every served key needs replay texts that name their serving keys')
  const tk = opts.tokenizer ?? getTokenizer(schedule.params.config.tokenizer)
  const normalize = opts.normalize ?? true
  const enc = (t: string) => tk.encode(normalize ? normalizeText(t).text : t)
  const scorer = new ScheduleScorer(schedule, { dedup: opts.dedup ?? true })
  const globalPrompts = (opts.prompts ?? []).map(enc)
  if (keyed > 0) {
    const used = new Map<string, CohortKey>()
    const own = texts.map((t) => {
      const ck = schedule.locate(t.keyId as string)
      if (!ck) throw new EvidenceError('E_BAD_INPUT', `key ${(t.keyId as string).slice(0, 40)} is not a key of schedule ${schedule.scheduleId}`)
      used.set(ck.key.keyId, ck)
      return ck
    })
    const every = opts.everyServedKey === true ? [...used.values()] : undefined
    texts.forEach((t, i) => scorer.addUnderKeys(every ?? [own[i]], enc(t.text), t.prompt !== undefined ? enc(t.prompt) : undefined, opts.filters))
    // Prompts excluded everywhere go under every key that scored (exclusion is order-independent: accumulate.ts).
    for (const ck of used.values()) for (const p of globalPrompts) scorer.add(ck, new Uint32Array(0), p)
  } else {
    const answers = texts.map((t) => ({ ids: enc(t.text), promptIds: t.prompt !== undefined ? enc(t.prompt) : undefined }))
    for (const p of globalPrompts) answers.push({ ids: new Uint32Array(0), promptIds: p })
    scorer.scoreRing(answers, opts.filters)
  }
  return scorer.result({ alpha: opts.alpha })
}

/** What the serving log adds to a schedule record: its records (for the accounts) and its integrity. */
export interface ScheduleLogInput {
  records: readonly LogRecord[]
  head: string
  withText: number
  signature?: { signerId: string; signedAt: string; valid: boolean; coversHead: boolean }
}

/** The bundle's schedule record: `analyzeSchedule`'s result, the accounts behind each flagged cohort, the log's integrity. */
export function scheduleRecord(
  schedule: KeySchedule,
  texts: readonly ScheduleText[],
  opts: Omit<ScheduleAnalysisOptions, 'filters'> & { filters?: { records: number; byKey: ReadonlyMap<string, EmissionFilter> } },
  log?: ScheduleLogInput,
): ScheduleRecord {
  const r = analyzeSchedule(schedule, texts, { ...opts, filters: opts.filters?.byKey })
  return {
    scheduleId: schedule.scheduleId,
    commitment: schedule.commitment,
    servedKeys: texts.map((t) => t.keyId ?? null),
    result: resultRecord(r, schedule.params.epochs),
    ...(opts.everyServedKey === true ? { scoring: 'every-served' as const } : {}),
    // only when used: a bundle without filters stays byte-for-byte what earlier builds wrote and read
    ...(opts.filters
      ? { filters: { records: opts.filters.records, keys: [...opts.filters.byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([keyId, f]) => ({ keyId, filter: toBase64Url(f.toBytes()) })) } }
      : {}),
    accounts: log ? r.cohortsFlagged.map((c) => ({ cohort: c, label: schedule.cohortLabel(c), accounts: accountsOf(log.records, c) })) : [],
    log: log ? { records: log.records.length, head: log.head, withText: log.withText, signature: log.signature ?? null } : null,
  }
}

/** The sealed filters of a schedule record as the analysis takes them (undefined: none); a bad one throws. */
export function recordFilters(rec: Pick<ScheduleRecord, 'filters'>): KeyFilters | undefined {
  if (!rec.filters) return undefined
  const out = new Map<string, EmissionFilter>()
  for (const k of rec.filters.keys) {
    const bytes = fromBase64Url(k.filter)
    if (!bytes) throw new EvidenceError('E_BAD_INPUT', `the emission filter of key ${k.keyId.slice(0, 40)} is not base64url`)
    out.set(k.keyId, EmissionFilter.fromBytes(bytes))
  }
  return out
}
