/**
 * Building a case's evidence bundle and rendering its report: the heavy part of evidence.ts, run by the
 * work pool off the event loop (issue 12: a 16,000-sample case blocked the server 14 s for its bundle and
 * 5 s more for its report). A worker reads the case's samples itself from a file database (read-only
 * connection), up to the sample count the case had when the request read it: samples are append-only
 * by seq, so that snapshot is exact whatever is added meanwhile, and no text crosses the thread boundary.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { parseSchedule, type WatermarkKey } from '@tokenmark/core'
import { createBundle, openBundle, parseSigningKeyFile, renderReport, verify, type CorpusText, type EvidenceOptions, type Provenance, type ReportFormat } from '@tokenmark/evidence'

/**
 * The numbers a bundle must agree with: the case result the request read. A case bound to a key schedule
 * checks the samples and tokens only: its result is the bundle's schedule section itself (evidence.ts),
 * and the bundle's single-key corpus section is not its test.
 */
export interface ExpectedNumbers {
  samples: number
  tokensTotal: number
  tokensScored?: number
  value?: number
  statistic?: string
  log10P?: number
}

export interface EvidenceTask {
  caseId: string
  /** Signing key file text (the same process's memory; never logged). */
  signer: string
  options: EvidenceOptions
  expected: ExpectedNumbers
  /** Where the samples are: a database file the worker opens read-only, or the texts themselves (in-memory databases). */
  source: { db: string } | { texts: CorpusText[] }
  /**
   * A case bound to a key schedule: the schedule's secret file and public description (the same process's
   * memory; never logged), so that the schedule section is recomputed from the bundle's texts before the
   * bundle is handed out (evidence's verify, as `tokenmark verify --schedule` runs it).
   */
  schedule?: { secretFile: string; description: string }
  /** A bundle already built (cached): only the report is rendered. */
  bytes?: Uint8Array
  /** …or the spool file holding it. */
  bundleFile?: string
  report?: { format: ReportFormat; publicKey: Uint8Array; bundleName: string }
  /**
   * A bundle built now, or a report, of at least `minBytes` is written to a new file in `dir` and only
   * its name crosses back: the event loop streams it from there and never holds it whole.
   */
  spool?: { dir: string; minBytes: number }
}

export interface EvidenceResult {
  /** The bundle (absent when it was spooled to `file`, or was given as `bundleFile`). */
  bytes?: Uint8Array
  file?: string
  size: number
  sha256: string
  /** Where the bundle's numbers differ from `expected`; absent when they agree exactly. */
  diff?: Record<string, unknown>
  report?: string
  reportFile?: string
}

/** The texts of a case's first `samples` samples, in order, from a read-only connection. */
export function readCaseTexts(dbPath: string, caseId: string, samples: number): CorpusText[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true })
  try {
    const texts: CorpusText[] = []
    const rows = db.prepare('SELECT id, text, prompt, source, created_at FROM samples WHERE case_id = ? AND seq <= ? ORDER BY seq').iterate(caseId, samples)
    for (const r of rows as IterableIterator<{ id: string; text: string; prompt: string | null; source: string | null; created_at: string }>) {
      texts.push(caseText(r.id, r.text, r.prompt, r.created_at, r.source === null ? null : (JSON.parse(r.source) as unknown)))
    }
    return texts
  } finally {
    db.close()
  }
}

/**
 * A case sample as a corpus text with its chain of custody: the server's sample id and receipt time, and
 * the string and number fields of the `source` the client sent (probe sends endpoint, model, requestId,
 * time, sampleId).
 */
export function caseText(id: string, text: string, prompt: string | null, received: string, source: unknown): CorpusText {
  const provenance: Provenance = { serverSampleId: id, received }
  if (source !== null && typeof source === 'object' && !Array.isArray(source)) {
    for (const [k, v] of Object.entries(source)) if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) provenance[k] = v
  }
  return { id, text, ...(prompt !== null ? { prompt } : {}), provenance }
}

export function buildEvidence(key: WatermarkKey, t: EvidenceTask): EvidenceResult {
  let bytes = t.bytes ?? (t.bundleFile !== undefined ? readFileSync(t.bundleFile) : undefined)
  let diff: Record<string, unknown> | undefined
  const built = bytes === undefined
  if (bytes === undefined) {
    const texts = 'db' in t.source ? readCaseTexts(t.source.db, t.caseId, t.expected.samples) : t.source.texts
    const signer = parseSigningKeyFile(t.signer)
    bytes = createBundle(key, texts, signer, t.options)
    diff = texts.length === t.expected.samples ? difference(bytes, t.expected) : { samples: { case: t.expected.samples, read: texts.length } }
    if (diff === undefined && t.schedule) {
      const check = verify(bytes, { publicKey: signer.publicKey, schedule: parseSchedule(t.schedule.secretFile, t.schedule.description) }).checks.find((c) => c.id === 'schedule')
      if (check?.status !== 'pass') diff = { schedule: check?.message ?? 'no schedule check' }
    }
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  const report = t.report && diff === undefined ? renderReport(bytes, t.report) : undefined
  const out: EvidenceResult = { size: bytes.byteLength, sha256, ...(diff ? { diff } : {}) }
  if (built) {
    if (t.spool && diff === undefined && bytes.byteLength >= t.spool.minBytes) out.file = spoolWrite(t.spool.dir, '.tmev', bytes)
    else out.bytes = bytes
  }
  if (report !== undefined) {
    if (t.spool && Buffer.byteLength(report) >= t.spool.minBytes) out.reportFile = spoolWrite(t.spool.dir, '.report', report)
    else out.report = report
  }
  return out
}

/** Writes `data` to a new file of the spool directory (mode 0600: bundles hold the case's texts). */
function spoolWrite(dir: string, ext: string, data: Uint8Array | string): string {
  const file = join(dir, randomBytes(12).toString('hex') + ext)
  writeFileSync(file, data, { mode: 0o600, flag: 'wx' })
  return file
}

/** Where a bundle's statistics differ from the case result, or undefined when they agree exactly. */
function difference(bytes: Uint8Array, r: ExpectedNumbers): Record<string, unknown> | undefined {
  const { body } = openBundle(bytes)
  const pairs: [string, unknown, unknown][] = [
    ['tokensTotal', body.statistics.tokensSeen, r.tokensTotal],
    ['tokensScored', body.statistics.tokensScored, r.tokensScored],
    ['value', body.statistics.value, r.value],
    ['statistic', body.method.statistic, r.statistic],
    ['log10P', body.result.log10P, r.log10P],
  ]
  const out: Record<string, unknown> = {}
  for (const [name, bundle, kase] of pairs) if (kase !== undefined && !Object.is(bundle, kase)) out[name] = { bundle, case: kase }
  return Object.keys(out).length ? out : undefined
}
