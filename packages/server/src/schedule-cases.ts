/**
 * Cases bound to a key schedule (issue 13 §3; docs/spec.md#replay): keyed replay scored by the server.
 * Every sample names the key that served its prompt — its `keyId`, as `tokenmark probe --replay` writes it
 * next to each answer, or its (cohort, epoch) — and is scored under that key alone, prompt tuples excluded
 * and tuples de-duplicated per key. The case's evidence is one accumulator per (cohort, epoch) key; its
 * result is core's ScheduleScorer over those accumulators: the global test (one exact p-value pooled over
 * the serving keys) and one test per cohort and per epoch with Holm's correction — the numbers
 * `tokenmark scan --schedule` gives on the same samples (evidence's analyzeSchedule folds with the same
 * ScheduleScorer; each key's accumulator here is core's Scorer over the samples it served, which scores
 * exactly as ScheduleScorer.add does: prompt excluded and used as context).
 *
 * H0 (per case): the suspect's answers were written without knowledge of any key of the schedule.
 */
import { Accumulator, parseLog, prepareKey, ScheduleScorer, verifyLog, type CohortKey, type ScheduleResult } from '@tokenmark/core'
import { checkLogHead, type LogHeadCheck, type SignedLogHead } from '@tokenmark/evidence'
import { scoreBatchOffLoop, type ScoreOptions } from './case-scoring.js'
import type { DetectPool } from './detect-pool.js'
import { ServerError } from './errors.js'
import type { OpenSchedule } from './schedule-store.js'
import type { CaseLogRow } from './store.js'

/** Which key served a sample's prompt: its key id, or its cohort and epoch. */
export interface ServedInput {
  keyId?: string
  cohort?: number
  epoch?: number
}

/** What an uploaded serving log adds to a result: as evidence's ScheduleRecord states it (`report --schedule --log`). */
export interface LogStatement {
  /** Per flagged cohort, the accounts the log shows it served (over every epoch, sorted). */
  accounts: { cohort: number; label: string; accounts: string[] }[]
  log: { records: number; head: string; withText: number; signature: LogHeadCheck | null }
}

/**
 * The result of a case bound to a schedule: core's ScheduleResult, with the fields `scan --schedule --json`
 * adds; with a serving log uploaded, also the accounts behind flagged cohorts and the log's integrity.
 */
export type ScheduleCaseResult = ScheduleResult & { detected: boolean; texts: number } & Partial<LogStatement>

/** Slot of a (cohort, epoch) key, as ScheduleScorer numbers them. */
function slotOf(open: OpenSchedule, ck: Pick<CohortKey, 'cohort' | 'epoch'>): number {
  return ck.epoch * open.schedule.cohortCount + ck.cohort
}

/**
 * The serving key a sample names, checked against the schedule: a 422 E_SERVING_KEY when it names none,
 * names a key the schedule never served, or a cohort or epoch outside it (nothing of the batch is kept).
 */
export function servingKey(open: OpenSchedule, served: ServedInput | undefined, path: string): CohortKey {
  const s = open.schedule
  const at = `${path}/served`
  if (served === undefined) {
    throw new ServerError('E_SERVING_KEY', `${path}: a case bound to schedule ${s.scheduleId} needs each sample's "served" key (keyId, or cohort and epoch), as probe --replay records it`)
  }
  if (served.keyId !== undefined) {
    if (served.cohort !== undefined || served.epoch !== undefined) throw new ServerError('E_VALIDATION', `${at} names a keyId and a cohort/epoch; give one or the other`)
    const ck = open.locate(served.keyId)
    if (!ck) throw new ServerError('E_SERVING_KEY', `${at}/keyId: key ${served.keyId.slice(0, 40)} is not a key of schedule ${s.scheduleId}`)
    return ck
  }
  if (served.cohort === undefined || served.epoch === undefined) throw new ServerError('E_VALIDATION', `${at} needs keyId, or both cohort and epoch`)
  if (served.cohort >= s.cohortCount) throw new ServerError('E_SERVING_KEY', `${at}/cohort: schedule ${s.scheduleId} has cohorts 0..${s.cohortCount - 1} (${s.params.cohorts} + ${s.params.canaries.length} canaries)`)
  if (served.epoch >= s.params.epochs) throw new ServerError('E_SERVING_KEY', `${at}/epoch: schedule ${s.scheduleId} has epochs 0..${s.params.epochs - 1}`)
  return open.at(served.cohort, served.epoch)
}

const MAGIC = 0x454b4d54 // "TMKE" little-endian

/**
 * A schedule case's evidence: one de-duplicating accumulator per (cohort, epoch) key that scored a sample.
 * Merges key by key (merge(a, b) equals scoring a's and b's inputs together, core accumulate.ts), so the
 * case service persists it as checkpoint + deltas exactly like a single-key accumulator.
 * Bytes: u32 magic "TMKE", u32 version 1, u32 count, then per key u32 slot, u32 length, Accumulator bytes
 * (little-endian).
 */
export class KeyedEvidence {
  readonly dedup = true
  readonly open: OpenSchedule
  readonly slots = new Map<number, Accumulator>()

  constructor(open: OpenSchedule) {
    this.open = open
  }

  get tokensTotal(): number {
    let n = 0
    for (const a of this.slots.values()) n += a.tokensTotal
    return n
  }

  get tokensScored(): number {
    let n = 0
    for (const a of this.slots.values()) n += a.tokensScored
    return n
  }

  /** Folds an accumulator of the key in `slot` in. */
  add(slot: number, acc: Accumulator): void {
    const mine = this.slots.get(slot)
    if (mine) mine.merge(acc)
    else this.slots.set(slot, Accumulator.fromBytes(acc.toBytes(), this.#pk(slot)))
  }

  merge(other: KeyedEvidence): this {
    for (const [slot, acc] of other.slots) this.add(slot, acc)
    return this
  }

  #pk(slot: number) {
    const C = this.open.schedule.cohortCount
    return prepareKey(this.open.schedule.keyFor(slot % C, Math.floor(slot / C)))
  }

  toBytes(): Uint8Array {
    const parts = [...this.slots].sort((a, b) => a[0] - b[0]).map(([slot, acc]) => [slot, acc.toBytes()] as const)
    const out = new Uint8Array(12 + parts.reduce((n, [, b]) => n + 8 + b.length, 0))
    const dv = new DataView(out.buffer)
    dv.setUint32(0, MAGIC, true)
    dv.setUint32(4, 1, true)
    dv.setUint32(8, parts.length, true)
    let at = 12
    for (const [slot, b] of parts) {
      dv.setUint32(at, slot, true)
      dv.setUint32(at + 4, b.length, true)
      out.set(b, at + 8)
      at += 8 + b.length
    }
    return out
  }

  static fromBytes(bytes: Uint8Array, open: OpenSchedule): KeyedEvidence {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    // Written by this server only (never a client's bytes): a bad blob is our fault, a 500.
    if (bytes.length < 12 || dv.getUint32(0, true) !== MAGIC || dv.getUint32(4, true) !== 1) throw new ServerError('E_INTERNAL', 'a schedule case\'s stored evidence is not in the format this build writes')
    const ev = new KeyedEvidence(open)
    let at = 12
    for (let i = dv.getUint32(8, true); i > 0; i--) {
      const slot = dv.getUint32(at, true)
      const len = dv.getUint32(at + 4, true)
      ev.slots.set(slot, Accumulator.fromBytes(bytes.subarray(at + 8, at + 8 + len), ev.#pk(slot)))
      at += 8 + len
    }
    return ev
  }

  /** Core's ScheduleScorer over the keys' accumulators: the result `scan --schedule` prints for the same samples. */
  result(alpha: number, texts: number, log?: CaseLogRow): ScheduleCaseResult {
    const scorer = new ScheduleScorer(this.open.schedule, { dedup: true })
    const C = this.open.schedule.cohortCount
    for (const [slot, acc] of this.slots) scorer.mergeKey({ cohort: slot % C, epoch: Math.floor(slot / C) }, acc)
    const r = scorer.result({ alpha })
    return { ...r, detected: r.log10P <= Math.log10(alpha), texts, ...(log ? logStatement(this.open, r.cohortsFlagged, log) : {}) }
  }
}

/**
 * Scores a batch of a schedule case: the samples of each serving key as one single-key batch on the work
 * pool (case-scoring.ts, core's Scorer), all keys at once, folded into one KeyedEvidence.
 */
export async function scoreScheduleBatch(
  pool: DetectPool,
  tenantId: string,
  open: OpenSchedule,
  opts: ScoreOptions,
  samples: readonly { text: string; prompt?: string; served: CohortKey }[],
  deadline: number,
): Promise<{ delta: KeyedEvidence; tokens: number[] }> {
  const groups = new Map<number, { ck: CohortKey; at: number[] }>()
  samples.forEach((s, i) => {
    const slot = slotOf(open, s.served)
    const g = groups.get(slot) ?? { ck: s.served, at: [] }
    g.at.push(i)
    groups.set(slot, g)
  })
  const delta = new KeyedEvidence(open)
  const tokens = new Array<number>(samples.length).fill(0)
  const parts = await Promise.all(
    [...groups].map(async ([slot, g]) => {
      const batch = g.at.map((i) => ({ text: samples[i].text, ...(samples[i].prompt !== undefined ? { prompt: samples[i].prompt } : {}) }))
      return { slot, g, scored: await scoreBatchOffLoop(pool, tenantId, g.ck.key, opts, batch, deadline) }
    }),
  )
  for (const { slot, g, scored } of parts) {
    delta.slots.set(slot, scored.delta)
    g.at.forEach((i, j) => (tokens[i] = scored.tokens[j]))
  }
  return { delta, tokens }
}

/**
 * A serving log uploaded to a schedule case, checked and summarised (`tokenmark log verify` and `report
 * --schedule --log` do the same with core's verifyLog and evidence's checkLogHead): the chain must hold and
 * every record's epoch, cohort and key must be the schedule's (422 E_LOG_INVALID naming the line otherwise);
 * a signed head, when given, must be valid and cover the log. Kept: the head, counts, the signed head's check
 * and which accounts each cohort served — what a result and a bundle state; the records are not kept.
 */
export function summariseLog(open: OpenSchedule, caseId: string, text: string, signed?: SignedLogHead): CaseLogRow {
  const log = parseLog(text)
  const v = verifyLog(log, open.schedule)
  if (!v.ok) throw new ServerError('E_LOG_INVALID', `the serving log does not verify against schedule ${open.schedule.scheduleId} (line ${v.error?.line}: ${v.error?.reason}); check it with tokenmark log verify`)
  let signature: LogHeadCheck | null = null
  if (signed !== undefined) {
    signature = checkLogHead(signed, log, true)
    if (!signature.valid) throw new ServerError('E_LOG_INVALID', 'the signed head\'s signature does not verify (by the key it names)')
    if (!signature.coversHead) throw new ServerError('E_LOG_INVALID', 'the signed head does not cover this log (another log, or records were changed after it was signed)')
  }
  const byCohort = new Map<number, Set<string>>()
  for (const r of log.records) {
    const set = byCohort.get(r.cohort) ?? new Set<string>()
    set.add(r.account)
    byCohort.set(r.cohort, set)
  }
  const cohortAccounts: Record<string, string[]> = {}
  for (const [c, set] of [...byCohort].sort((a, b) => a[0] - b[0])) cohortAccounts[String(c)] = [...set].sort()
  return {
    case_id: caseId,
    head: v.head.head,
    records: v.records,
    with_text: v.withText,
    signature: signature ? JSON.stringify(signature) : null,
    cohort_accounts: JSON.stringify(cohortAccounts),
    created_at: new Date().toISOString(),
  }
}

/** The accounts behind the flagged cohorts and the log's integrity, from a stored log summary. */
function logStatement(open: OpenSchedule, flagged: readonly number[], row: CaseLogRow): LogStatement {
  const byCohort = JSON.parse(row.cohort_accounts) as Record<string, string[]>
  return {
    accounts: flagged.map((c) => ({ cohort: c, label: open.schedule.cohortLabel(c), accounts: byCohort[String(c)] ?? [] })),
    log: { records: row.records, head: row.head, withText: row.with_text, signature: row.signature === null ? null : (JSON.parse(row.signature) as LogHeadCheck) },
  }
}
