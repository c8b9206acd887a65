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
 */
import {
  Accumulator,
  corpusResult,
  DEFAULT_ALPHA,
  loneSurrogateAt,
  prepareKey,
  type CorpusResult,
  type PreparedKey,
  type SchemeId,
  type WatermarkKey,
} from '@tokenmark/core'
import { scoreBatchOffLoop, type ScoreOptions, type ScoredBatch } from './case-scoring.js'
import { randomId, sha256Hex } from './crypto.js'
import { DetectPool } from './detect-pool.js'
import { canonicalJson } from './json-bounds.js'
import { ServerError } from './errors.js'
import type { KeyStore } from './keystore.js'
import type { CaseMeta, CaseRow, SampleRow, Store } from './store.js'

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
  keyId: string
  scheme: SchemeId
  tokenizer: string
  dedup: boolean
  normalize: boolean
  samples: number
  tokensTotal: number
  tokensScored: number
  createdAt: string
  updatedAt: string
  result: CaseResult
}

export interface SampleInput {
  text: string
  prompt?: string
  source?: Record<string, unknown>
  idempotencyKey?: string
}

export interface SampleInfo {
  id: string
  seq: number
  idempotencyKey: string | null
  text: string
  prompt: string | null
  source: Record<string, unknown> | null
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
  keyId: string
  dedup?: boolean
  normalize?: boolean
}

/** A case's in-memory evidence: its merged accumulator, and the bytes persisted since the checkpoint. */
interface CaseState {
  pk: PreparedKey
  acc: Accumulator
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
    const key = this.#keys.require(tenantId, input.keyId)
    const pk = prepareKey(key)
    const acc = new Accumulator(pk, { dedup: input.dedup ?? true })
    const now = new Date().toISOString()
    const accBytes = acc.toBytes()
    const row: CaseRow = {
      id: randomId('case_'),
      tenant_id: tenantId,
      name: input.name,
      description: input.description ?? null,
      key_id: key.keyId,
      dedup: acc.dedup ? 1 : 0,
      normalize: input.normalize === false ? 0 : 1,
      samples: 0,
      acc: Buffer.from(accBytes),
      created_at: now,
      updated_at: now,
    }
    this.#store.insertCase(row)
    return this.#info(row, key, { pk, acc, samples: 0, checkpointBytes: accBytes.length, deltaBytes: 0, textBytes: 0 })
  }

  /** The case row of this tenant, or a 404 that reads the same for another tenant's case. */
  row(tenantId: string, id: string): CaseMeta {
    const row = this.#store.getCase(tenantId, id)
    if (!row) throw new ServerError('E_NOT_FOUND', `no case ${id.slice(0, 80)}`)
    return row
  }

  get(tenantId: string, id: string): CaseInfo {
    const row = this.row(tenantId, id)
    const key = this.#keys.require(tenantId, row.key_id)
    return this.#info(row, key, this.#state(row, key))
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
      const key = this.#keys.require(tenantId, r.key_id)
      return this.#info(r, key, this.#state(r, key))
    })
    const last = page[page.length - 1]
    return { cases, next: rows.length > limit && last ? String(last.seq) : null }
  }

  result(tenantId: string, id: string, alpha = DEFAULT_CASE_ALPHA): CaseResult {
    const row = this.row(tenantId, id)
    const key = this.#keys.require(tenantId, row.key_id)
    return caseResult(this.#state(row, key), alpha)
  }

  /**
   * The key and a copy of the merged accumulator of a case (for reports and bundles); the copy may be
   * changed freely.
   */
  evidence(tenantId: string, id: string): { key: WatermarkKey; accumulator: Accumulator; samples: number } {
    const row = this.row(tenantId, id)
    const key = this.#keys.require(tenantId, row.key_id)
    const st = this.#state(row, key)
    return { key, accumulator: Accumulator.fromBytes(st.acc.toBytes(), st.pk), samples: st.samples }
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
    for (let attempt = 0; ; attempt++) {
      const row = this.row(tenantId, id)
      const key = this.#keys.require(tenantId, row.key_id)
      const st = this.#state(row, key)
      const plan = this.#plan(id, st, batch)
      const bytes = plan.pending.reduce((n, p) => n + sampleBytes(p.input), 0)
      if (st.samples + plan.pending.length > this.#limits.maxSamples) {
        throw new ServerError('E_CASE_LIMIT', `a case holds at most ${this.#limits.maxSamples} samples (this one has ${st.samples}); open another case for the rest`)
      }
      if (st.textBytes + bytes > this.#limits.maxBytes) {
        throw new ServerError('E_CASE_TOO_LARGE', `a case holds at most ${this.#limits.maxBytes} bytes of text and prompts (this one has ${st.textBytes}); open another case for the rest`)
      }
      const dedup = st.acc.dedup
      let seed: Uint8Array | undefined
      if (!dedup) {
        // Without de-duplication exclusions cannot reach back into merged evidence, so the case's
        // exclusions are carried into the batch first.
        const s0 = new Accumulator(st.pk, { dedup: false })
        st.acc.excluded.forEach((w0, w1) => s0.excludeTuple(w0, w1))
        seed = s0.toBytes()
      }
      const scored = plan.pending.length === 0 ? undefined : await this.#score(tenantId, key, { dedup, normalize: row.normalize === 1, seed }, plan.pending.map((p) => p.input), deadline)
      try {
        const committed = this.#store.transaction(() => {
          // Read the row inside the transaction: another process sharing the database file may have
          // added samples since the batch was planned; then it is planned and scored again.
          const now = this.row(tenantId, id)
          if (now.samples !== st.samples) return false
          const cur = this.#state(now, key)
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
            })),
          )
          if (scored && plan.pending.length > 0) {
            const seq = cur.samples + plan.pending.length
            cur.acc.merge(scored.delta)
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
  #score(tenantId: string, key: WatermarkKey, opts: ScoreOptions, samples: SampleInput[], deadline: number): Promise<ScoredBatch> {
    return scoreBatchOffLoop(this.#pool ?? INLINE, tenantId, key, opts, samples, deadline)
  }

  /** Which samples of a batch are new (numbered after the case's last) and which are duplicates; 409 on a conflicting reuse. */
  #plan(id: string, st: CaseState, batch: readonly SampleInput[]): { outcomes: SampleOutcome[]; pending: Pending[] } {
    const seenInBatch = new Map<string, { hash: string; outcome: SampleOutcome }>()
    const outcomes: SampleOutcome[] = []
    const pending: Pending[] = []
    let seq = st.samples
    // Every stored sample the batch's keys name, in one lookup (one round trip on PostgreSQL).
    batch.forEach((input, index) => checkWellFormed(`samples/${index}`, input))
    const keys = batch.flatMap((s) => (s.idempotencyKey !== undefined ? [s.idempotencyKey] : []))
    const storedByKey = this.#store.getSamplesByIdem(id, keys)
    batch.forEach((input, index) => {
      const hash = contentHash(input)
      const ik = input.idempotencyKey
      if (ik !== undefined) {
        const prior = seenInBatch.get(ik)
        const stored = prior ? undefined : storedByKey.get(ik)
        const priorHash = prior?.hash ?? stored?.content_hash
        if (priorHash !== undefined) {
          if (priorHash !== hash && priorHash !== legacyContentHash(input)) {
            throw new ServerError('E_IDEMPOTENCY_CONFLICT', `samples/${index}: idempotency key "${ik.slice(0, 80)}" was already used for a different sample in this case`)
          }
          const o = prior ? prior.outcome : { index, id: stored!.id, seq: stored!.seq, status: 'duplicate' as const }
          outcomes.push({ ...o, index, status: 'duplicate' })
          return
        }
      }
      const outcome: SampleOutcome = { index, id: randomId('smp_'), seq: ++seq, status: 'created' }
      outcomes.push(outcome)
      pending.push({ input, hash, outcome })
      if (ik !== undefined) seenInBatch.set(ik, { hash, outcome })
    })
    return { outcomes, pending }
  }

  #state(row: CaseMeta, key: WatermarkKey): CaseState {
    const hit = this.#cache.get(row.id)
    if (hit && hit.samples === row.samples) {
      this.#cache.delete(row.id)
      this.#cache.set(row.id, hit)
      return hit
    }
    const pk = prepareKey(key)
    const ev = this.#store.getCaseEvidence(row.id)
    if (!ev) throw new ServerError('E_NOT_FOUND', `no case ${row.id}`)
    const bytes = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
    const acc = Accumulator.fromBytes(bytes(ev.acc), pk)
    for (const d of ev.deltas) acc.merge(Accumulator.fromBytes(bytes(d), pk))
    const st: CaseState = {
      pk,
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

  #info(row: Omit<CaseRow, 'acc'>, key: WatermarkKey, st: CaseState): CaseInfo {
    const result = caseResult(st, DEFAULT_CASE_ALPHA)
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      keyId: key.keyId,
      scheme: key.scheme,
      tokenizer: key.config.tokenizer,
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

/** The corpus test on a case's merged accumulator: core's corpusResult, the numbers CorpusScanner gives on the same samples. */
export function caseResult(st: { acc: Accumulator; samples: number }, alpha: number): CaseResult {
  return corpusResult(st.acc, { texts: st.samples, alpha })
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
function contentHash(s: SampleInput): string {
  return sha256Hex(canonicalJson([s.text, s.prompt ?? null, s.source ?? null]))
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
    tokens: r.tokens,
    createdAt: r.created_at,
  }
}
