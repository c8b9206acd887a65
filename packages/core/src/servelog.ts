/**
 * The serving log (docs/spec.md#serving-log): one record per watermarked response, each committing to
 * the previous one, so that a log handed over in a dispute can be checked for insertions, deletions and
 * edits (a hash chain, as in Haber & Stornetta 1991 and Certificate Transparency, RFC 6962 §2.1).
 *
 * Text form: JSON lines. Line 1 is the header {format "tokenmark-log", version 1, scheduleId, created}.
 * Every further line is a record {seq, time, account, epoch, cohort, keyId, promptHash, responseHash,
 * prev, hash} plus optional `prompt` and `response` texts. The hashes are
 *   promptHash, responseHash = hex SHA-256 of the UTF-8 text
 *   hash = hex SHA-256("tokenmark/v1/log" ‖ 0 ‖ canonical JSON of the record without hash, prompt, response)
 *   prev = the previous record's hash; for seq 0, hex SHA-256("tokenmark/v1/log-genesis" ‖ 0 ‖ canonical header)
 * Texts stay outside the record hash and are bound through their hashes, so a provider can strip them
 * (privacy, size) without breaking the chain. The head {scheduleId, records, head} is what gets signed
 * (@tokenmark/evidence signs it; core stays free of node: and of our other packages).
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { canonicalJson, concatBytes, toHex, utf8 } from './bytes.js'
import { TokenmarkError } from './errors.js'
import type { KeySchedule } from './schedule.js'

export const LOG_FORMAT = 'tokenmark-log'
export const LOG_VERSION = 1

export interface LogHeader {
  format: typeof LOG_FORMAT
  version: typeof LOG_VERSION
  scheduleId: string
  created: string
}

export interface LogRecord {
  seq: number
  /** ISO 8601 time the response was served. */
  time: string
  account: string
  epoch: number
  cohort: number
  keyId: string
  promptHash: string
  responseHash: string
  prev: string
  hash: string
  prompt?: string
  response?: string
}

/** What the serving side knows about one response. */
export interface LogEntry {
  time: Date | string
  account: string
  epoch: number
  cohort: number
  keyId: string
  prompt: string
  response: string
  /** Keep prompt and response text in the record (default true: replay and emission filters need them). */
  keepText?: boolean
}

/** The log's head: the value a provider signs and publishes. */
export interface LogHead {
  scheduleId: string
  records: number
  head: string
}

const RECORD_FIELDS = ['seq', 'time', 'account', 'epoch', 'cohort', 'keyId', 'promptHash', 'responseHash', 'prev', 'hash', 'prompt', 'response']

export function textHash(text: string): string {
  return toHex(sha256(utf8(text)))
}

function genesis(header: LogHeader): string {
  return toHex(sha256(concatBytes(utf8('tokenmark/v1/log-genesis\0'), utf8(canonicalJson(header)))))
}

/** The record hash (module comment): over every field but hash and the texts. */
export function recordHash(r: Omit<LogRecord, 'hash'>): string {
  const { prompt: _p, response: _r, ...body } = r as LogRecord
  delete (body as Partial<LogRecord>).hash
  return toHex(sha256(concatBytes(utf8('tokenmark/v1/log\0'), utf8(canonicalJson(body)))))
}

/** Bytes a signature over the head covers. */
export function logHeadMessage(head: LogHead): Uint8Array {
  return utf8('tokenmark/v1/log-head\0' + canonicalJson({ scheduleId: head.scheduleId, records: head.records, head: head.head }))
}

/**
 * Appends records to a log. It only makes lines; where they go (a file, a database) is the caller's
 * business. Resume an existing log with `ServingLog.resume(parsed)`.
 */
export class ServingLog {
  readonly header: LogHeader
  private seq = 0
  private last: string

  constructor(header: { scheduleId: string; created?: Date | string }) {
    const created = header.created instanceof Date ? header.created.toISOString() : (header.created ?? new Date().toISOString())
    this.header = { format: LOG_FORMAT, version: LOG_VERSION, scheduleId: header.scheduleId, created }
    this.last = genesis(this.header)
  }

  static resume(log: ParsedLog): ServingLog {
    const l = new ServingLog(log.header)
    const tail = log.records[log.records.length - 1]
    if (tail) {
      l.seq = tail.seq + 1
      l.last = tail.hash
    }
    return l
  }

  headerLine(): string {
    return JSON.stringify(this.header) + '\n'
  }

  /** The next record for a served response, and its JSON line. */
  append(e: LogEntry): { record: LogRecord; line: string } {
    const time = e.time instanceof Date ? e.time.toISOString() : new Date(e.time).toISOString()
    const body = {
      seq: this.seq,
      time,
      account: e.account,
      epoch: e.epoch,
      cohort: e.cohort,
      keyId: e.keyId,
      promptHash: textHash(e.prompt),
      responseHash: textHash(e.response),
      prev: this.last,
    }
    const record: LogRecord = { ...body, hash: recordHash(body) }
    if (e.keepText ?? true) {
      record.prompt = e.prompt
      record.response = e.response
    }
    this.seq++
    this.last = record.hash
    return { record, line: JSON.stringify(record) + '\n' }
  }

  head(): LogHead {
    return { scheduleId: this.header.scheduleId, records: this.seq, head: this.last }
  }
}

export interface ParsedLog {
  header: LogHeader
  records: LogRecord[]
}

function bad(line: number, why: string): TokenmarkError {
  return new TokenmarkError('E_BAD_INPUT', `serving log line ${line}: ${why}`)
}

/** Parses the JSON lines of a log (shape only; `verifyLog` checks the chain). */
export function parseLog(text: string): ParsedLog {
  const lines = text.split('\n')
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  if (lines.length === 0) throw bad(1, 'empty (a log starts with its header line)')
  let header: unknown
  try {
    header = JSON.parse(lines[0])
  } catch {
    throw bad(1, 'the header is not JSON')
  }
  const h = header as Record<string, unknown>
  if (!h || h.format !== LOG_FORMAT) throw bad(1, `not a serving log (header format must be "${LOG_FORMAT}")`)
  if (h.version !== LOG_VERSION) throw bad(1, `unsupported log version (this build reads version ${LOG_VERSION})`)
  if (typeof h.scheduleId !== 'string' || typeof h.created !== 'string') throw bad(1, 'the header needs string fields scheduleId and created')
  const records: LogRecord[] = []
  for (let i = 1; i < lines.length; i++) {
    let r: Record<string, unknown>
    try {
      r = JSON.parse(lines[i]) as Record<string, unknown>
    } catch {
      throw bad(i + 1, 'not JSON')
    }
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw bad(i + 1, 'not a JSON object')
    for (const k of Object.keys(r)) if (!RECORD_FIELDS.includes(k)) throw bad(i + 1, `unknown field "${k.slice(0, 40)}"`)
    for (const k of ['time', 'account', 'keyId', 'promptHash', 'responseHash', 'prev', 'hash'] as const) {
      if (typeof r[k] !== 'string') throw bad(i + 1, `field "${k}" must be a string`)
    }
    for (const k of ['seq', 'epoch', 'cohort'] as const) {
      if (typeof r[k] !== 'number' || !Number.isInteger(r[k]) || (r[k] as number) < 0) throw bad(i + 1, `field "${k}" must be a whole number`)
    }
    for (const k of ['prompt', 'response'] as const) if (r[k] !== undefined && typeof r[k] !== 'string') throw bad(i + 1, `field "${k}" must be a string`)
    records.push(r as unknown as LogRecord)
  }
  return { header: { format: LOG_FORMAT, version: LOG_VERSION, scheduleId: h.scheduleId, created: h.created }, records }
}

export interface LogVerification {
  ok: boolean
  head: LogHead
  records: number
  /** Records that still carry their texts. */
  withText: number
  /** The first problem found (1-based line number), when not ok. */
  error?: { line: number; reason: string }
}

/**
 * Checks the chain (seq, prev, hash), the text hashes of records that keep their texts and, given the
 * schedule, that each record's epoch, cohort and key id are the ones the schedule assigns.
 */
export function verifyLog(log: ParsedLog, schedule?: KeySchedule): LogVerification {
  let prev = genesis(log.header)
  let withText = 0
  const fail = (i: number, reason: string): LogVerification => ({ ok: false, head: { scheduleId: log.header.scheduleId, records: i, head: prev }, records: log.records.length, withText, error: { line: i + 2, reason } })
  if (schedule && schedule.scheduleId !== log.header.scheduleId) return fail(-1, `the log was written under schedule ${log.header.scheduleId.slice(0, 40)}, not ${schedule.scheduleId}`)
  for (let i = 0; i < log.records.length; i++) {
    const r = log.records[i]
    if (r.seq !== i) return fail(i, `record number ${r.seq} where ${i} was expected (a record was removed or inserted)`)
    if (r.prev !== prev) return fail(i, 'prev does not match the previous record (a record was removed, inserted or altered)')
    if (recordHash(r) !== r.hash) return fail(i, 'the record hash does not match its fields (the record was altered)')
    if (r.prompt !== undefined && textHash(r.prompt) !== r.promptHash) return fail(i, 'the prompt text does not match promptHash')
    if (r.response !== undefined && textHash(r.response) !== r.responseHash) return fail(i, 'the response text does not match responseHash')
    if (r.prompt !== undefined && r.response !== undefined) withText++
    if (schedule) {
      let epoch: number
      try {
        epoch = schedule.epochAt(r.time)
      } catch {
        return fail(i, 'the record time is outside the schedule')
      }
      if (epoch !== r.epoch) return fail(i, `epoch ${r.epoch} but the schedule puts its time in epoch ${epoch}`)
      if (schedule.cohortOf(r.account, epoch) !== r.cohort) return fail(i, `cohort ${r.cohort} is not the schedule's cohort for this account in epoch ${epoch}`)
      if (schedule.keyFor(r.cohort, epoch).keyId !== r.keyId) return fail(i, 'the key id is not the schedule\'s key for this cohort and epoch')
    }
    prev = r.hash
  }
  return { ok: true, head: { scheduleId: log.header.scheduleId, records: log.records.length, head: prev }, records: log.records.length, withText }
}

/** Which records a replay, a filter or a report uses; every given list must match (AND), absent = all. */
export interface LogSelection {
  cohorts?: readonly number[]
  epochs?: readonly number[]
  accounts?: readonly string[]
}

export function selectRecords(records: readonly LogRecord[], s: LogSelection): LogRecord[] {
  const c = s.cohorts && new Set(s.cohorts)
  const e = s.epochs && new Set(s.epochs)
  const a = s.accounts && new Set(s.accounts)
  return records.filter((r) => (!c || c.has(r.cohort)) && (!e || e.has(r.epoch)) && (!a || a.has(r.account)))
}

export interface LogStats {
  records: number
  accounts: number
  withText: number
  /** Per (cohort, epoch) key in first-seen order: records and distinct accounts. */
  keys: { cohort: number; epoch: number; keyId: string; records: number; accounts: number }[]
  /** Per cohort: records, distinct accounts, epochs it served in. */
  cohorts: { cohort: number; records: number; accounts: number; epochs: number }[]
  epochs: { epoch: number; records: number; accounts: number }[]
}

export function logStats(records: readonly LogRecord[]): LogStats {
  const keys = new Map<string, { cohort: number; epoch: number; keyId: string; records: number; acc: Set<string> }>()
  const cohorts = new Map<number, { records: number; acc: Set<string>; ep: Set<number> }>()
  const epochs = new Map<number, { records: number; acc: Set<string> }>()
  const accounts = new Set<string>()
  let withText = 0
  for (const r of records) {
    accounts.add(r.account)
    if (r.prompt !== undefined && r.response !== undefined) withText++
    const k = `${r.cohort}/${r.epoch}`
    const ks = keys.get(k) ?? { cohort: r.cohort, epoch: r.epoch, keyId: r.keyId, records: 0, acc: new Set<string>() }
    ks.records++
    ks.acc.add(r.account)
    keys.set(k, ks)
    const cs = cohorts.get(r.cohort) ?? { records: 0, acc: new Set<string>(), ep: new Set<number>() }
    cs.records++
    cs.acc.add(r.account)
    cs.ep.add(r.epoch)
    cohorts.set(r.cohort, cs)
    const es = epochs.get(r.epoch) ?? { records: 0, acc: new Set<string>() }
    es.records++
    es.acc.add(r.account)
    epochs.set(r.epoch, es)
  }
  return {
    records: records.length,
    accounts: accounts.size,
    withText,
    keys: [...keys.values()].map((k) => ({ cohort: k.cohort, epoch: k.epoch, keyId: k.keyId, records: k.records, accounts: k.acc.size })),
    cohorts: [...cohorts.entries()].sort((x, y) => x[0] - y[0]).map(([cohort, s]) => ({ cohort, records: s.records, accounts: s.acc.size, epochs: s.ep.size })),
    epochs: [...epochs.entries()].sort((x, y) => x[0] - y[0]).map(([epoch, s]) => ({ epoch, records: s.records, accounts: s.acc.size })),
  }
}

/** The accounts a (cohort, epoch) — or a cohort over all epochs — served, sorted. */
export function accountsOf(records: readonly LogRecord[], cohort: number, epoch?: number): string[] {
  const out = new Set<string>()
  for (const r of records) if (r.cohort === cohort && (epoch === undefined || r.epoch === epoch)) out.add(r.account)
  return [...out].sort()
}
