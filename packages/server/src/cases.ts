/**
 * Investigation cases: samples from one suspect source, tested against one key as a corpus
 * (docs/spec.md#corpus) — de-duplication across the whole case, tuples of every prompt excluded
 * (also from samples scored before the prompt arrived: exclusions live in the accumulator), each prompt
 * used as context for its sample's first tokens. Each batch is a fold with core's one Scorer
 * (scoreBatch: a fork of the case's scorer), so the same samples give the same statistic as
 * `tokenmark scan`, whatever their order and batching.
 *
 * A case's running result comes from its persisted merged accumulator, never from rescoring. Each
 * batch is scored into an accumulator of its own, merged into the case's, and persisted in the same
 * SQLite transaction as the batch's samples, so an acknowledged batch and its evidence commit together
 * or not at all. Persisted is either the batch's accumulator (a delta, small) or, once the deltas
 * since the last checkpoint outweigh it, the whole merged accumulator (a checkpoint, which replaces
 * them): writes stay proportional to the evidence added, not to the size of the case, and loading is
 * the checkpoint merged with its deltas — merge(a, b) equals scoring a's and b's inputs into one
 * accumulator (core, accumulate.ts).
 *
 * H0 (per case): the suspect's texts were produced without the key's watermark influencing them.
 *
 * A case may instead be bound to a key schedule (schedule-cases.ts): each sample then names the key that
 * served its prompt, its evidence is one accumulator per serving key, persisted the same way, and its
 * result is the schedule test (global, per cohort, per epoch) that `tokenmark scan --schedule` gives.
 */
import {
  Accumulator,
  corpusResult,
  DEFAULT_ALPHA,
  loneSurrogateAt,
  prepareKey,
  type CohortKey,
  type CorpusResult,
  type PreparedKey,
  type SchemeId,
  type WatermarkKey,
} from '@tokenmark/core'
import type { SignedLogHead } from '@tokenmark/evidence'
import { scoreBatchOffLoop, type ScoreOptions } from './case-scoring.js'
import { randomId, sha256Hex } from './crypto.js'
import { DetectPool } from './detect-pool.js'
import { canonicalJson } from './json-bounds.js'
import { ServerError } from './errors.js'
import type { KeyStore } from './keystore.js'
import { KeyedEvidence, scoreScheduleBatch, servingKey, summariseLog, type ScheduleCaseResult, type ServedInput } from './schedule-cases.js'
import type { OpenSchedule } from './schedule-store.js'
import type { CaseLogRow, CaseMeta, CaseRow, SampleRow, Store } from './store.js'

/** A case's significance level unless asked otherwise: core's one default. */
export const DEFAULT_CASE_ALPHA = DEFAULT_ALPHA
/** Bounds on a sample's free-form `source` (route schema): nesting depth and bytes of JSON. */
export const SOURCE_MAX_DEPTH = 8
export const SOURCE_MAX_BYTES = 16_384

/** Core's CorpusResult (an Outcome with the corpus named): the same fields `scan --json` prints. */
export type CaseResult = CorpusResult

export interface CaseInfo {
  id: string
  name: string
  description: string | null
  /** The key the case is tested against; null for a case bound to a key schedule. */
  keyId: string | null
  /** The key schedule the case is bound to (issue 13), or null. */
  scheduleId: string | null
  scheme: SchemeId
  tokenizer: string
  dedup: boolean
  normalize: boolean
  samples: number
  tokensTotal: number
  tokensScored: number
  createdAt: string
  updatedAt: string
  /** The corpus test (a key's case) or the schedule test (a case bound to a schedule). */
  result: CaseResult | ScheduleCaseResult
}

export interface SampleInput {
  text: string
  prompt?: string
  source?: Record<string, unknown>
  idempotencyKey?: string
  /** The key that served the sample's prompt (cases bound to a schedule only). */
  served?: ServedInput
}

export interface SampleInfo {
  id: string
  seq: number
  idempotencyKey: string | null
  text: string
  prompt: string | null
  source: Record<string, unknown> | null
  /** The key id that served the sample's prompt (cases bound to a schedule), else null. */
  servedKeyId: string | null
  tokens: number
  createdAt: string
}

export interface SampleOutcome {
  index: number
  id: string
  seq: number
  status: 'created' | 'duplicate'
}

export interface AddSamplesResult {
  accepted: number
  duplicates: number
  samples: SampleOutcome[]
  case: CaseInfo
}

export interface CreateCaseInput {
  name: string
  description?: string
  /** One of keyId (a key's case) and scheduleId (a case bound to a key schedule). */
  keyId?: string
  scheduleId?: string
  dedup?: boolean
  normalize?: boolean
}

/** A case's in-memory evidence: its merged accumulator, and the bytes persisted since the checkpoint. */
interface CaseState {
  /** The key's prepared form (a key's case); absent for a schedule case. */
  pk?: PreparedKey
  /** A key's accumulator, or a schedule case's accumulators per serving key. */
  acc: Accumulator | KeyedEvidence
  samples: number
  checkpointBytes: number
  deltaBytes: number
  /** UTF-8 bytes of the case's texts and prompts (for the per-case limit). */
  textBytes: number
}

interface Pending {
  input: SampleInput
  hash: string
  outcome: SampleOutcome
  /** The serving key (schedule cases). */
  served?: CohortKey
}

/** What a case is tested against: one key, or a key schedule. */
type Subject = { key: WatermarkKey; open?: undefined } | { open: OpenSchedule; key?: undefined }

/** Case rows name a key (tmk_…) or a key schedule (tmks_…) in key_id: core's two id formats. */
function isScheduleId(id: string): boolean {
  return id.startsWith('tmks_')
}

/** Scoring on the event loop, for a CaseService built without a pool. */
const INLINE = new DetectPool(0)

/** UTF-8 bytes a sample adds to its case (text and prompt). */
function sampleBytes(s: SampleInput): number {
  return Buffer.byteLength(s.text) + (s.prompt === undefined ? 0 : Buffer.byteLength(s.prompt))
}

export interface CaseServiceOptions {
  /**
   * Write a checkpoint when the deltas since the last one reach max(this, the checkpoint's size)
   * bytes (default 1 MiB); 0 writes a checkpoint on every batch.
   */
  checkpointMinBytes?: number
  /** The work pool that scores samples off the event loop (default: inline). */
  pool?: DetectPool
  /** Samples per case (default 100,000): beyond it a batch is refused with 422 E_CASE_LIMIT. */
  maxSamples?: number
  /** UTF-8 bytes of texts and prompts per case (default 256 MiB): beyond it 413 E_CASE_TOO_LARGE. */
  maxBytes?: number
  /** Bytes of decoded case evidence kept in memory (default 256 MiB). */
  cacheBytes?: number
}

export const DEFAULT_CASE_LIMITS = { maxSamples: 100_000, maxBytes: 256 * 1024 * 1024 }

export class CaseService {
  readonly #store: Store
  readonly #keys: KeyStore
  /** Decoded states of recently used cases (insertion order = LRU order). */
  readonly #cache = new Map<string, CaseState>()

  readonly #checkpointMin: number
  readonly #pool: DetectPool | undefined
  readonly #limits: { maxSamples: number; maxBytes: number }
  readonly #cacheBytes: number
  /** The tail of each case's chain of batches in flight (batches of one case run one at a time). */
  readonly #locks = new Map<string, Promise<void>>()

  constructor(store: Store, keys: KeyStore, opts: CaseServiceOptions = {}) {
    this.#store = store
    this.#keys = keys
    this.#checkpointMin = opts.checkpointMinBytes ?? 1 << 20
    this.#pool = opts.pool
    this.#limits = { maxSamples: opts.maxSamples ?? DEFAULT_CASE_LIMITS.maxSamples, maxBytes: opts.maxBytes ?? DEFAULT_CASE_LIMITS.maxBytes }
    this.#cacheBytes = opts.cacheBytes ?? 256 * 1024 * 1024
  }

  create(tenantId: string, input: CreateCaseInput): CaseInfo {
    checkWellFormed('body', { name: input.name, description: input.description })
    if ((input.keyId === undefined) === (input.scheduleId === undefined)) throw new ServerError('E_VALIDATION', 'body must have one of "keyId" (a case tested against one key) and "scheduleId" (a case bound to a key schedule)')
    let subject: Subject
    let st: CaseState
    if (input.scheduleId !== undefined) {
      // Keyed replay de-duplicates per key (docs/spec.md#replay), as `scan --schedule` and `report --schedule` do.
      if (input.dedup === false) throw new ServerError('E_VALIDATION', 'a case bound to a key schedule scores with de-duplication per key; drop "dedup": false')
      const open = this.#keys.schedules.require(tenantId, input.scheduleId)
      subject = { open }
      st = { acc: new KeyedEvidence(open), samples: 0, checkpointBytes: 0, deltaBytes: 0, textBytes: 0 }
    } else {
      const key = this.#keys.require(tenantId, input.keyId as string)
      const pk = prepareKey(key)
      subject = { key }
      st = { pk, acc: new Accumulator(pk, { dedup: input.dedup ?? true }), samples: 0, checkpointBytes: 0, deltaBytes: 0, textBytes: 0 }
    }
    const now = new Date().toISOString()
    const accBytes = st.acc.toBytes()
    st.checkpointBytes = accBytes.length
    const row: CaseRow = {
      id: randomId('case_'),
      tenant_id: tenantId,
      name: input.name,
      description: input.description ?? null,
      key_id: subject.key ? subject.key.keyId : subject.open.schedule.scheduleId,
      dedup: st.acc.dedup ? 1 : 0,
      normalize: input.normalize === false ? 0 : 1,
      samples: 0,
      acc: Buffer.from(accBytes),
      created_at: now,
      updated_at: now,
    }
    this.#store.insertCase(row)
    return this.#info(row, subject, st)
  }

  /** The key or schedule a case row names (of this tenant). */
  #subject(tenantId: string, row: Pick<CaseMeta, 'key_id'>): Subject {
    return isScheduleId(row.key_id) ? { open: this.#keys.schedules.require(tenantId, row.key_id) } : { key: this.#keys.require(tenantId, row.key_id) }
  }

  /** The case row of this tenant, or a 404 that reads the same for another tenant's case. */
  row(tenantId: string, id: string): CaseMeta {
    const row = this.#store.getCase(tenantId, id)
    if (!row) throw new ServerError('E_NOT_FOUND', `no case ${id.slice(0, 80)}`)
    return row
  }

  get(tenantId: string, id: string): CaseInfo {
    const row = this.row(tenantId, id)
    const subject = this.#subject(tenantId, row)
    return this.#info(row, subject, this.#state(row, subject))
  }

  list(tenantId: string, limit: number, cursor?: string): { cases: CaseInfo[]; next: string | null } {
    let before: number | undefined
    if (cursor !== undefined) {
      if (!/^[1-9][0-9]{0,15}$/.test(cursor)) throw new ServerError('E_VALIDATION', 'querystring/cursor is not a cursor this server returned')
      before = Number(cursor)
    }
    const rows = this.#store.listCases(tenantId, limit + 1, before)
    const page = rows.slice(0, limit)
    const cases = page.map((r) => {
      const subject = this.#subject(tenantId, r)
      return this.#info(r, subject, this.#state(r, subject))
    })
    const last = page[page.length - 1]
    return { cases, next: rows.length > limit && last ? String(last.seq) : null }
  }

  result(tenantId: string, id: string, alpha = DEFAULT_CASE_ALPHA): CaseResult | ScheduleCaseResult {
    const row = this.row(tenantId, id)
    return caseResult(this.#state(row, this.#subject(tenantId, row)), alpha, this.#log(row))
  }

  /**
   * Attaches (or replaces) a schedule case's serving log: checked against the schedule and summarised
   * (schedule-cases.ts); the case's result and bundle then name the accounts behind flagged cohorts.
   */
  putLog(tenantId: string, id: string, log: string, signedHead?: SignedLogHead): CaseInfo {
    const row = this.row(tenantId, id)
    const subject = this.#subject(tenantId, row)
    if (!subject.open) throw new ServerError('E_VALIDATION', `case ${id.slice(0, 80)} is tested against one key; a serving log goes with a case bound to a key schedule`)
    this.#store.putCaseLog(summariseLog(subject.open, id, log, signedHead))
    return this.#info(row, subject, this.#state(row, subject))
  }

  /** A schedule case's stored log summary, if any. */
  #log(row: Pick<CaseMeta, 'id' | 'key_id'>): CaseLogRow | undefined {
    return isScheduleId(row.key_id) ? this.#store.getCaseLog(row.id) : undefined
  }

  /** A schedule case's schedule, its evidence (a copy) and sample count, for its bundle; 404 for another tenant's case. */
  scheduleEvidence(tenantId: string, id: string): { open: OpenSchedule; evidence: KeyedEvidence; samples: number; log?: CaseLogRow } | undefined {
    const row = this.row(tenantId, id)
    const subject = this.#subject(tenantId, row)
    if (!subject.open) return undefined
    const st = this.#state(row, subject)
    const log = this.#log(row)
    return { open: subject.open, evidence: KeyedEvidence.fromBytes(st.acc.toBytes(), subject.open), samples: st.samples, ...(log ? { log } : {}) }
  }

  /** The serving key id of each of a case's first `samples` samples (null where none), in order. */
  servedKeys(tenantId: string, id: string, samples: number): (string | null)[] {
    this.row(tenantId, id)
    return this.#store.servedKeys(id, samples)
  }

  /**
   * The key and a copy of the merged accumulator of a case (for reports and bundles); the copy may be
   * changed freely.
   */
  evidence(tenantId: string, id: string): { key: WatermarkKey; accumulator: Accumulator; samples: number } {
    const row = this.row(tenantId, id)
    const subject = this.#subject(tenantId, row)
    if (!subject.key) throw new ServerError('E_VALIDATION', `case ${id.slice(0, 80)} is bound to key schedule ${row.key_id}, not to one key`)
    const st = this.#state(row, subject)
    return { key: subject.key, accumulator: Accumulator.fromBytes(st.acc.toBytes(), st.pk as PreparedKey), samples: st.samples }
  }

  samples(tenantId: string, id: string, after: number, limit: number): { samples: SampleInfo[]; next: number | null } {
    this.row(tenantId, id)
    const rows = this.#store.listSamples(id, after, limit + 1)
    const page = rows.slice(0, limit).map(sampleInfo)
    return { samples: page, next: rows.length > limit ? page[page.length - 1].seq : null }
  }

  /** Every sample of a case, in order (streams from the database). */
  *allSamples(tenantId: string, id: string): IterableIterator<SampleInfo> {
    this.row(tenantId, id)
    for (const r of this.#store.iterateSamples(id)) yield sampleInfo(r)
  }

  /**
   * Appends a batch. Samples whose idempotency key the case already holds (with the same content)
   * are reported as duplicates and not scored again; the same key with different content is a 409
   * and rejects the whole batch. The new samples are scored off the event loop (case-scoring.ts), then
   * everything commits in one transaction before this resolves. Batches of one case are serialised
   * within the process; a batch another process committed meanwhile (the case's sample count moved)
   * makes this one re-read and re-score, so the merged evidence is always that of every sample.
   */
  addSamples(tenantId: string, id: string, batch: readonly SampleInput[], deadline = Date.now() + 30_000): Promise<AddSamplesResult> {
    const prior = this.#locks.get(id) ?? Promise.resolve()
    const run = prior.then(
      () => this.#addSamples(tenantId, id, batch, deadline),
      () => this.#addSamples(tenantId, id, batch, deadline),
    )
    const tail = run.then(
      () => undefined,
      () => undefined,
    )
    this.#locks.set(id, tail)
    void tail.then(() => {
      if (this.#locks.get(id) === tail) this.#locks.delete(id)
    })
    return run
  }

  async #addSamples(tenantId: string, id: string, batch: readonly SampleInput[], deadline: number): Promise<AddSamplesResult> {
    const first = this.row(tenantId, id)
    // Serving keys named by id are located in the schedule's ring, derived once without holding the event loop.
    if (isScheduleId(first.key_id) && batch.some((s) => s.served?.keyId !== undefined)) await this.#keys.schedules.require(tenantId, first.key_id).index()
    for (let attempt = 0; ; attempt++) {
      const row = this.row(tenantId, id)
      const subject = this.#subject(tenantId, row)
      const st = this.#state(row, subject)
      const plan = this.#plan(id, st, batch, subject)
      const bytes = plan.pending.reduce((n, p) => n + sampleBytes(p.input), 0)
      if (st.samples + plan.pending.length > this.#limits.maxSamples) {
        throw new ServerError('E_CASE_LIMIT', `a case holds at most ${this.#limits.maxSamples} samples (this one has ${st.samples}); open another case for the rest`)
      }
      if (st.textBytes + bytes > this.#limits.maxBytes) {
        throw new ServerError('E_CASE_TOO_LARGE', `a case holds at most ${this.#limits.maxBytes} bytes of text and prompts (this one has ${st.textBytes}); open another case for the rest`)
      }
      const dedup = st.acc.dedup
      let seed: Uint8Array | undefined
      if (!dedup && st.acc instanceof Accumulator) {
        // Without de-duplication exclusions cannot reach back into merged evidence, so the case's
        // exclusions are carried into the batch first.
        const s0 = new Accumulator(st.pk as PreparedKey, { dedup: false })
        st.acc.excluded.forEach((w0, w1) => s0.excludeTuple(w0, w1))
        seed = s0.toBytes()
      }
      const scored = plan.pending.length === 0 ? undefined : await this.#score(tenantId, subject, { dedup, normalize: row.normalize === 1, seed }, plan.pending, deadline)
      try {
        const committed = this.#store.transaction(() => {
          // Read the row inside the transaction: another process sharing the database file may have
          // added samples since the batch was planned; then it is planned and scored again.
          const now = this.row(tenantId, id)
          if (now.samples !== st.samples) return false
          const cur = this.#state(now, subject)
          const at = new Date().toISOString()
          this.#store.insertSamples(
            plan.pending.map((p, i) => ({
              case_id: id,
              seq: p.outcome.seq,
              id: p.outcome.id,
              idem_key: p.input.idempotencyKey ?? null,
              text: p.input.text,
              prompt: p.input.prompt ?? null,
              source: p.input.source !== undefined ? JSON.stringify(p.input.source) : null,
              content_hash: p.hash,
              tokens: scored!.tokens[i],
              created_at: at,
              served_key: p.served?.key.keyId ?? null,
            })),
          )
          if (scored && plan.pending.length > 0) {
            const seq = cur.samples + plan.pending.length
            merge(cur.acc, scored.delta)
            cur.samples = seq
            cur.textBytes += bytes
            const d = scored.delta.toBytes()
            if (this.#checkpointMin === 0 || cur.deltaBytes + d.length >= Math.max(this.#checkpointMin, cur.checkpointBytes)) {
              const full = cur.acc.toBytes()
              this.#store.checkpointCase(id, full)
              cur.checkpointBytes = full.length
              cur.deltaBytes = 0
            } else {
              this.#store.insertAccDelta(id, seq, d)
              cur.deltaBytes += d.length
            }
            this.#store.updateCaseSamples(id, seq, at)
          }
          return true
        })
        if (!committed) {
          if (attempt >= 3) throw new ServerError('E_UNAVAILABLE', 'the case keeps changing under this batch (other writers); retry it')
          continue
        }
      } catch (e) {
        // The in-memory state may hold part of a batch that was rolled back: reload it next time.
        this.#cache.delete(id)
        throw e
      }
      this.#trimCache()
      return { accepted: plan.pending.length, duplicates: batch.length - plan.pending.length, samples: plan.outcomes, case: this.get(tenantId, id) }
    }
  }

  /** The pool-backed scorer, or inline scoring when the service has no pool (CaseService used alone). */
  #score(tenantId: string, subject: Subject, opts: ScoreOptions, pending: Pending[], deadline: number): Promise<{ delta: Accumulator | KeyedEvidence; tokens: number[] }> {
    const pool = this.#pool ?? INLINE
    if (subject.open) return scoreScheduleBatch(pool, tenantId, subject.open, opts, pending.map((p) => ({ ...p.input, served: p.served as CohortKey })), deadline)
    return scoreBatchOffLoop(pool, tenantId, subject.key, opts, pending.map((p) => p.input), deadline)
  }

  /** Which samples of a batch are new (numbered after the case's last) and which are duplicates; 409 on a conflicting reuse. */
  #plan(id: string, st: CaseState, batch: readonly SampleInput[], subject: Subject): { outcomes: SampleOutcome[]; pending: Pending[] } {
    const seenInBatch = new Map<string, { hash: string; outcome: SampleOutcome }>()
    const outcomes: SampleOutcome[] = []
    const pending: Pending[] = []
    let seq = st.samples
    // Every stored sample the batch's keys name, in one lookup (one round trip on PostgreSQL).
    batch.forEach((input, index) => checkWellFormed(`samples/${index}`, input))
    // Every serving key checked before anything is kept (a schedule case), or refused where no schedule is.
    const served = batch.map((input, index) => {
      if (subject.open) return servingKey(subject.open, input.served, `samples/${index}`)
      if (input.served !== undefined) throw new ServerError('E_VALIDATION', `samples/${index}/served: this case is tested against one key; "served" is for cases bound to a key schedule`)
      return undefined
    })
    const keys = batch.flatMap((s) => (s.idempotencyKey !== undefined ? [s.idempotencyKey] : []))
    const storedByKey = this.#store.getSamplesByIdem(id, keys)
    batch.forEach((input, index) => {
      const hash = contentHash(input, served[index])
      const ik = input.idempotencyKey
      if (ik !== undefined) {
        const prior = seenInBatch.get(ik)
        const stored = prior ? undefined : storedByKey.get(ik)
        const priorHash = prior?.hash ?? stored?.content_hash
        if (priorHash !== undefined) {
          if (priorHash !== hash && (served[index] !== undefined || priorHash !== legacyContentHash(input))) {
            throw new ServerError('E_IDEMPOTENCY_CONFLICT', `samples/${index}: idempotency key "${ik.slice(0, 80)}" was already used for a different sample in this case`)
          }
          const o = prior ? prior.outcome : { index, id: stored!.id, seq: stored!.seq, status: 'duplicate' as const }
          outcomes.push({ ...o, index, status: 'duplicate' })
          return
        }
      }
      const outcome: SampleOutcome = { index, id: randomId('smp_'), seq: ++seq, status: 'created' }
      outcomes.push(outcome)
      pending.push({ input, hash, outcome, ...(served[index] ? { served: served[index] } : {}) })
      if (ik !== undefined) seenInBatch.set(ik, { hash, outcome })
    })
    return { outcomes, pending }
  }

  #state(row: CaseMeta, subject: Subject): CaseState {
    const hit = this.#cache.get(row.id)
    if (hit && hit.samples === row.samples) {
      this.#cache.delete(row.id)
      this.#cache.set(row.id, hit)
      return hit
    }
    const ev = this.#store.getCaseEvidence(row.id)
    if (!ev) throw new ServerError('E_NOT_FOUND', `no case ${row.id}`)
    const bytes = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
    let pk: PreparedKey | undefined
    let acc: Accumulator | KeyedEvidence
    if (subject.open) {
      const open = subject.open
      acc = KeyedEvidence.fromBytes(bytes(ev.acc), open)
      for (const d of ev.deltas) acc.merge(KeyedEvidence.fromBytes(bytes(d), open))
    } else {
      const p = (pk = prepareKey(subject.key))
      const a = (acc = Accumulator.fromBytes(bytes(ev.acc), p))
      for (const d of ev.deltas) a.merge(Accumulator.fromBytes(bytes(d), p))
    }
    const st: CaseState = {
      ...(pk ? { pk } : {}),
      acc,
      samples: ev.samples,
      checkpointBytes: ev.acc.length,
      deltaBytes: ev.deltas.reduce((n, d) => n + d.length, 0),
      textBytes: this.#store.caseTextBytes(row.id),
    }
    this.#cache.set(row.id, st)
    this.#trimCache()
    return st
  }

  /**
   * Keeps the decoded cases within the cache's byte budget, least recently used out first. A case's
   * weight is its persisted evidence (checkpoint and deltas), which its decoded accumulator tracks
   * (issue 12: the cache counted cases, so a tenant could grow it to gigabytes with large cases).
   */
  /** Cases decoded in memory and their weight in bytes (see #trimCache). */
  cached(): { cases: number; bytes: number } {
    let bytes = 0
    for (const st of this.#cache.values()) bytes += st.checkpointBytes + st.deltaBytes
    return { cases: this.#cache.size, bytes }
  }

  #trimCache(): void {
    let total = 0
    for (const st of this.#cache.values()) total += st.checkpointBytes + st.deltaBytes
    for (const [id, st] of this.#cache) {
      if (total <= this.#cacheBytes || this.#cache.size <= 1) break
      this.#cache.delete(id)
      total -= st.checkpointBytes + st.deltaBytes
    }
  }

  #info(row: Omit<CaseRow, 'acc'>, subject: Subject, st: CaseState): CaseInfo {
    const result = caseResult(st, DEFAULT_CASE_ALPHA, this.#log(row))
    const config = subject.key ? subject.key.config : subject.open.schedule.params.config
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      keyId: subject.key ? subject.key.keyId : null,
      scheduleId: subject.open ? subject.open.schedule.scheduleId : null,
      scheme: config.scheme,
      tokenizer: config.tokenizer,
      dedup: row.dedup === 1,
      normalize: row.normalize === 1,
      samples: st.samples,
      tokensTotal: st.acc.tokensTotal,
      tokensScored: st.acc.tokensScored,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      result,
    }
  }
}

/**
 * The corpus test on a case's merged accumulator: core's corpusResult, the numbers CorpusScanner gives on
 * the same samples; for a schedule case, the schedule test `scan --schedule` gives (schedule-cases.ts).
 */
export function caseResult(st: { acc: Accumulator | KeyedEvidence; samples: number }, alpha: number, log?: CaseLogRow): CaseResult | ScheduleCaseResult {
  if (st.acc instanceof KeyedEvidence) return st.acc.result(alpha, st.samples, log)
  return corpusResult(st.acc, { texts: st.samples, alpha })
}

/** Folds a batch's evidence into the case's (both of the same kind: the case's subject scored it). */
function merge(into: Accumulator | KeyedEvidence, delta: Accumulator | KeyedEvidence): void {
  if (into instanceof KeyedEvidence) into.merge(delta as KeyedEvidence)
  else into.merge(delta as Accumulator)
}

/**
 * Lone surrogates are rejected at intake (400), not stored: they have no UTF-8 form, so SQLite and the
 * evidence bundle would replace them with U+FFFD and the stored text would differ from the submitted one.
 * Everything else (a leading U+FEFF, NUL, CRLF) is stored byte for byte.
 */
function checkWellFormed(path: string, value: unknown): void {
  const walk = (v: unknown, p: string): void => {
    if (typeof v === 'string') {
      const at = loneSurrogateAt(v)
      if (at >= 0) throw new ServerError('E_VALIDATION', `${p} is not well-formed Unicode (a lone surrogate at UTF-16 offset ${at}); send valid UTF-16 text`)
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${p}/${i}`))
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${p}/${k}`)
  }
  walk(value, path)
}

/**
 * What an idempotency key promises: the same text, prompt and source. `source` is hashed in canonical
 * form (sorted keys), so a retry that serialises the same object in another key order is a duplicate,
 * not a conflict (issue 12).
 */
function contentHash(s: SampleInput, served?: CohortKey): string {
  // The serving key counts as content (by key id, however the sample named it); samples without one hash as before.
  return sha256Hex(canonicalJson(served ? [s.text, s.prompt ?? null, s.source ?? null, served.key.keyId] : [s.text, s.prompt ?? null, s.source ?? null]))
}

/** The hash of samples stored by earlier builds (source in its arrival key order); a retry of one still matches. */
function legacyContentHash(s: SampleInput): string {
  return sha256Hex(JSON.stringify([s.text, s.prompt ?? null, s.source ?? null]))
}

function sampleInfo(r: SampleRow): SampleInfo {
  return {
    id: r.id,
    seq: r.seq,
    idempotencyKey: r.idem_key,
    text: r.text,
    prompt: r.prompt,
    source: r.source === null ? null : (JSON.parse(r.source) as Record<string, unknown>),
    servedKeyId: r.served_key ?? null,
    tokens: r.tokens,
    createdAt: r.created_at,
  }
}
