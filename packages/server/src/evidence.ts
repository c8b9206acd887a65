/**
 * Signed evidence for cases: the @tokenmark/evidence bundle of a case's samples (each with its prompt,
 * in the order they were added, with the case's de-duplication and normalisation), signed with the
 * tenant's signing key (keystore.ts), and the attribution report rendered from that bundle.
 *
 * The bundle's analysis (evidence's analyzeCorpus) and the case's running result (core's corpusResult
 * over the merged accumulator) are both folds with core's one Scorer over the same samples. Exclusions live in the
 * accumulator, so the two agree whatever the batching. A bundle whose numbers differ from the case's
 * (a bug, or a sample added between the two reads) is never handed out: it is rebuilt once, then refused
 * with a 500 and a log line that names the difference.
 *
 * The last bundle of each case is kept in memory while the case is unchanged, so a report and the bundle
 * fetched after it are the same bytes (the report's chain of custody names the bundle's SHA-256). The
 * cache is bounded by bytes, not by cases (issue 12). Building and rendering run on the work pool
 * (evidence-build.ts), within the request's time budget.
 *
 * Large bundles and reports (at least `streamBytes`) never cross to the event loop whole: the worker writes
 * them to a file in the server's spool directory and the route streams that file to the client, so the
 * event loop holds a stream's buffer of them (64 KiB), not tens of megabytes per request. A spooled bundle
 * stays cached as its file (within `spoolBytes` on disk, least recently used deleted first); a spooled
 * report is deleted as soon as it is opened (the open descriptor keeps it readable until sent). The
 * bundle itself is still built whole in the worker (Ed25519 signs the whole body, docs/evidence-format.md).
 */
import { closeSync, createReadStream, fstatSync, mkdtempSync, openSync, rmSync, unlinkSync, type ReadStream } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resultRecord, type CorpusText, type ReportFormat, type ScheduleRecord } from '@tokenmark/evidence'
import type { WatermarkKey } from '@tokenmark/core'
import { DEFAULT_CASE_ALPHA, type CaseInfo, type CaseService } from './cases.js'
import { DetectPool } from './detect-pool.js'
import { ServerError } from './errors.js'
import { caseText, type EvidenceResult, type EvidenceTask } from './evidence-build.js'
import type { KeyStore } from './keystore.js'

/** What a case's bundle is built from: the key of its corpus section, its notes, the numbers it must state. */
interface CaseTask {
  key: WatermarkKey
  notes: string
  expected: EvidenceTask['expected']
  schedule?: ScheduleRecord
  /** The schedule's files, for the worker to recompute the schedule section (EvidenceTask.schedule). */
  scheduleFiles?: EvidenceTask['schedule']
}

/** Evidence built on the event loop, for a CaseEvidence without a pool. */
const INLINE = new DetectPool(0)

export interface CaseBundle {
  /** The bundle, when kept in memory; else `file` holds it (read it with CaseEvidence.open). */
  bytes?: Uint8Array
  /** The spool file of a large bundle. */
  file?: string
  /** Its length in bytes. */
  size: number
  /** The file is not cached (larger than the spool's budget): delete it once opened (CaseEvidence.open). */
  transient?: boolean
  sha256: string
  /** Suggested file name (`<case id>.tmev`), also the name the report's reproduce commands use. */
  fileName: string
  signerId: string
}

interface Cached extends CaseBundle {
  tenantId: string
  samples: number
  /** The serving log statement the bundle carries (schedule cases; its head and signed head as JSON), or null: a new log makes a new bundle. */
  logHead: string | null
}

export interface CaseEvidenceOptions {
  /** The work pool (default: inline on the event loop). */
  pool?: DetectPool
  /** Bytes of bundles kept in memory (default 64 MiB; a larger bundle is built for each request). */
  cacheBytes?: number
  /** The database file the pool's workers read samples from (absent for an in-memory database). */
  dbPath?: string
  /** Bundles and reports of at least this many bytes are spooled to a file and streamed (default 8 MiB). */
  streamBytes?: number
  /** Bytes of spooled bundles kept on disk for later requests (default 1 GiB). */
  spoolBytes?: number
}

/** A report: its text, or the spool file holding a large one. */
export interface CaseReport {
  text?: string
  file?: string
  bundle: CaseBundle
}

export class CaseEvidence {
  readonly #cases: CaseService
  readonly #keys: KeyStore
  readonly #cache = new Map<string, Cached>()
  readonly #pool: DetectPool | undefined
  readonly #cacheBytes: number
  readonly #dbPath: string | undefined
  readonly #streamBytes: number
  readonly #spoolBytes: number
  #spoolDir: string | undefined
  /** Called with a description when a bundle's numbers disagree with its case (logged by the app). */
  onMismatch: (detail: Record<string, unknown>) => void = () => {}

  constructor(cases: CaseService, keys: KeyStore, opts: CaseEvidenceOptions = {}) {
    this.#cases = cases
    this.#keys = keys
    this.#pool = opts.pool
    this.#cacheBytes = opts.cacheBytes ?? 64 * 1024 * 1024
    this.#dbPath = opts.dbPath
    this.#streamBytes = opts.streamBytes ?? 8 * 1024 * 1024
    this.#spoolBytes = opts.spoolBytes ?? 1024 * 1024 * 1024
  }

  /**
   * The bytes of a bundle or a spooled file, to send: a Buffer, or a stream of the file (opened here, so a
   * later eviction or deletion of the file cannot cut it short). `remove` deletes the file once opened.
   */
  open(b: { bytes?: Uint8Array; file?: string; transient?: boolean }, remove = b.transient === true): Buffer | ReadStream {
    if (b.bytes) return Buffer.from(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength)
    const fd = openSync(b.file!, 'r')
    if (remove) unlinkSync(b.file!)
    return createReadStream('', { fd, highWaterMark: 64 * 1024 })
  }

  /** Size in bytes of a spooled file (reports). */
  static fileSize(file: string): number {
    const fd = openSync(file, 'r')
    try {
      return fstatSync(fd).size
    } finally {
      closeSync(fd)
    }
  }

  /** Deletes the spool directory and everything in it (on server close). */
  close(): void {
    this.#cache.clear()
    if (this.#spoolDir !== undefined) rmSync(this.#spoolDir, { recursive: true, force: true })
    this.#spoolDir = undefined
  }

  #spool(): string {
    this.#spoolDir ??= mkdtempSync(join(tmpdir(), 'tokenmark-spool-'))
    return this.#spoolDir
  }

  /** The signed bundle of a case as it stands; 404 for another tenant's case, 409 for an empty one. */
  async bundle(tenantId: string, caseId: string, deadline = Date.now() + 30_000): Promise<CaseBundle> {
    return (await this.#build(tenantId, caseId, deadline)).bundle
  }

  /** The attribution report of a case, rendered from its bundle (verified against the tenant's public key). */
  async report(tenantId: string, caseId: string, format: ReportFormat, deadline = Date.now() + 30_000): Promise<CaseReport> {
    const { bundle, report, reportFile } = await this.#build(tenantId, caseId, deadline, format)
    return { ...(reportFile !== undefined ? { file: reportFile } : { text: report! }), bundle }
  }

  async #build(tenantId: string, caseId: string, deadline: number, format?: ReportFormat): Promise<{ bundle: CaseBundle; report?: string; reportFile?: string }> {
    const signer = this.#keys.signingKey(tenantId)
    const report = format ? { format, publicKey: signer.publicKey, bundleName: `${caseId}.tmev` } : undefined
    const first = this.#cases.get(tenantId, caseId)
    // The first sample's serving key is located in the schedule's ring (derived once, without holding the event loop).
    if (first.scheduleId !== null) await this.#keys.schedules.require(tenantId, first.scheduleId).index()
    for (let attempt = 0; ; attempt++) {
      const info = attempt === 0 ? first : this.#cases.get(tenantId, caseId)
      const hit = this.#cache.get(caseId)
      const logHead = 'log' in info.result && info.result.log ? JSON.stringify(info.result.log) : null
      const fresh = hit && hit.tenantId === tenantId && hit.samples === info.samples && hit.signerId === signer.signerId && hit.logHead === logHead ? hit : undefined
      if (fresh) {
        this.#cache.delete(caseId)
        this.#cache.set(caseId, fresh)
        if (!report) return { bundle: fresh }
      }
      if (info.samples === 0) throw new ServerError('E_CASE_EMPTY', `case ${caseId.slice(0, 80)} has no samples yet; add samples before asking for its report or bundle`)
      const what = info.scheduleId === null ? this.#keyCase(tenantId, info) : this.#scheduleCase(tenantId, info)
      if (what === undefined) {
        // A batch landed between the two reads: read again.
        if (attempt >= 3) throw new ServerError('E_UNAVAILABLE', 'the case keeps changing under this request (other writers); retry it')
        continue
      }
      const { key, expected } = what
      const task: EvidenceTask = {
        caseId,
        signer: signer.toKeyFile(new Date(0)),
        options: {
          dedup: info.dedup,
          normalize: info.normalize,
          case: { title: info.name, description: info.description ?? '' },
          notes: what.notes,
          ...(what.schedule ? { schedule: what.schedule } : {}),
        },
        expected,
        ...(what.scheduleFiles ? { schedule: what.scheduleFiles } : {}),
        source: this.#dbPath !== undefined && this.#pool && this.#pool.size > 0 ? { db: this.#dbPath } : { texts: this.#texts(tenantId, caseId, info.samples) },
        ...(fresh ? (fresh.bytes ? { bytes: fresh.bytes } : { bundleFile: fresh.file }) : {}),
        ...(report ? { report } : {}),
        spool: { dir: this.#spool(), minBytes: this.#streamBytes },
      }
      const [out] = (await (this.#pool ?? INLINE).runAll(tenantId, [{ kind: 'bundle', keys: [{ ref: `${tenantId}\0${key.keyId}`, key }], ...task }], deadline)) as EvidenceResult[]
      if (out.diff === undefined) {
        const where = out.file !== undefined ? { file: out.file } : { bytes: out.bytes! }
        const bundle: Cached = { ...where, size: out.size, sha256: out.sha256, fileName: `${caseId}.tmev`, signerId: signer.signerId, tenantId, samples: info.samples, logHead }
        if (!fresh) this.#remember(caseId, bundle)
        // A bundle too large to keep, built for a report: nobody will stream its file.
        if (report && bundle.transient) this.#drop(bundle)
        return { bundle: fresh ?? bundle, report: out.report, reportFile: out.reportFile }
      }
      if (attempt >= 1) {
        this.onMismatch({ caseId, ...out.diff })
        throw new ServerError('E_INTERNAL', 'the evidence bundle does not agree with the case result')
      }
    }
  }

  /** A key's case: its bundle analyses the samples with that key and must state the case result. */
  #keyCase(tenantId: string, info: CaseInfo): CaseTask {
    const r = info.result as Extract<CaseInfo['result'], { statistic: unknown }>
    return {
      key: this.#keys.require(tenantId, info.keyId as string),
      notes: `tokenmark server case ${info.id}: ${info.samples} samples tested against key ${info.keyId}`,
      expected: { samples: info.samples, tokensTotal: r.tokensTotal, tokensScored: r.tokensScored, value: r.value!, statistic: r.statistic!, log10P: r.log10P },
    }
  }

  /**
   * A case bound to a key schedule: the bundle's schedule section (evidence's ScheduleRecord, what `report
   * --schedule` seals) holds the case's result — from the case's own per-key evidence, which `tokenmark
   * verify --schedule` recomputes from the bundle's texts and serving keys. An evidence bundle also carries
   * one key's corpus analysis; here that is the key that served the case's first sample, named as such in
   * the notes (its p-value scores every sample under that one key and is not the case's test). Before it is
   * handed out, the worker recomputes the schedule section from the bundle's texts with the schedule (as
   * `verify --schedule` does); a difference is refused like any bundle that disagrees with its case.
   */
  #scheduleCase(tenantId: string, info: CaseInfo): CaseTask | undefined {
    const se = this.#cases.scheduleEvidence(tenantId, info.id)
    if (!se || se.samples !== info.samples) return undefined
    const served = this.#cases.servedKeys(tenantId, info.id, info.samples)
    const first = served[0] === null ? undefined : se.open.locate(served[0])
    if (!first || served.length !== info.samples) throw new ServerError('E_INTERNAL', 'a schedule case\'s samples do not all name their serving key')
    const r = se.evidence.result(DEFAULT_CASE_ALPHA, info.samples, se.log)
    const s = se.open.schedule
    const schedule: ScheduleRecord = {
      scheduleId: s.scheduleId,
      commitment: s.commitment,
      servedKeys: served,
      result: resultRecord(r, s.params.epochs),
      accounts: r.accounts ?? [],
      log: r.log ? { records: r.log.records, head: r.log.head, withText: r.log.withText, signature: r.log.signature } : null,
    }
    return {
      key: first.key,
      schedule,
      notes:
        `tokenmark server case ${info.id}: ${info.samples} samples scored against key schedule ${s.scheduleId}, each under the key that served its prompt (keyed replay); ` +
        `the case's test is the schedule section. The corpus section tests every sample under one key, ${first.key.keyId} (${first.label}, epoch ${first.epoch}: the key that served the first sample).`,
      expected: { samples: info.samples, tokensTotal: r.tokensSeen },
      scheduleFiles: { secretFile: s.toSecretFile(new Date(0)), description: s.toPublicFile() },
    }
  }

  #texts(tenantId: string, caseId: string, samples: number): CorpusText[] {
    const texts: CorpusText[] = []
    for (const s of this.#cases.allSamples(tenantId, caseId)) {
      if (s.seq > samples) break
      texts.push(caseText(s.id, s.text, s.prompt, s.createdAt, s.source ?? null))
    }
    return texts
  }

  /** Bundles kept in memory and their bytes; spooled bundles kept on disk and theirs. */
  cached(): { bundles: number; bytes: number; files: number; fileBytes: number } {
    let bytes = 0
    let files = 0
    let fileBytes = 0
    for (const c of this.#cache.values()) {
      if (c.bytes) bytes += c.size
      else {
        files++
        fileBytes += c.size
      }
    }
    return { bundles: this.#cache.size - files, bytes, files, fileBytes }
  }

  /**
   * Keeps a bundle while the cache's bytes allow (memory for in-memory bundles, disk for spooled ones),
   * least recently used out first; a spooled bundle leaving the cache has its file deleted.
   */
  #remember(caseId: string, b: Cached): void {
    this.#forget(caseId)
    const limit = (c: Cached) => (c.bytes ? this.#cacheBytes : this.#spoolBytes)
    if (b.size > limit(b)) {
      // Not kept: an in-memory one is simply not cached; a file is deleted by the route once opened.
      if (b.file !== undefined) b.transient = true
      return
    }
    this.#cache.set(caseId, b)
    const totals = { mem: 0, disk: 0 }
    for (const c of this.#cache.values()) totals[c.bytes ? 'mem' : 'disk'] += c.size
    for (const [id, c] of this.#cache) {
      if (totals.mem <= this.#cacheBytes && totals.disk <= this.#spoolBytes) break
      const kind = c.bytes ? 'mem' : 'disk'
      if (totals[kind] <= limit(c)) continue
      this.#forget(id)
      totals[kind] -= c.size
    }
  }

  #forget(caseId: string): void {
    const c = this.#cache.get(caseId)
    if (!c) return
    this.#cache.delete(caseId)
    this.#drop(c)
  }

  #drop(c: Cached): void {
    if (c.file !== undefined) rmSync(c.file, { force: true })
  }
}
