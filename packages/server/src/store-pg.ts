/**
 * The PostgreSQL store (issue 16 §1): the same tables, queries and guarantees as the SQLite store
 * (store.ts), for several server replicas sharing one database.
 *
 * Why synchronous: the SQLite store is synchronous (better-sqlite3 blocks the event loop for each
 * statement, fsync included) and the case service, access control and key store are written against
 * that: a transaction is a plain function whose reads and writes cannot interleave with another
 * request's. Keeping the Store interface synchronous keeps every caller, and i12's hardening around
 * them, unchanged. So the `pg` driver runs in a worker thread (pg-sync-worker.ts) that owns the one
 * connection; each statement is posted to it and the main thread waits on a shared flag
 * (Atomics.wait) for the answer, a loopback round trip, the same kind of wait as SQLite's fsync.
 * Replicas scale out by process, not by connections within one.
 *
 * Transactions: SQLite's BEGIN IMMEDIATE lets one writer in at a time; here every transaction first takes
 * one transaction-scoped advisory lock (pg_advisory_xact_lock), so transactions from all replicas are
 * serialised the same way and the read-check-write of a batch (cases.ts) sees the committed state.
 * Migrations run under a second advisory lock, so replicas starting together migrate once.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads'
import type { CaseLogRow, CaseMeta, CaseRow, KeyRow, SampleRow, ScheduleRow, SigningKeyRow, Store, TenantRow, TokenRow } from './store.js'
import { ADDED_COLUMNS, SCHEMA_VERSION } from './store.js'

/**
 * Numbered migrations; migration i brings the schema from version i to i + 1 (meta.schema_version
 * records where a database is). Version 1 is the SQLite store's schema, in PostgreSQL types.
 */
const MIGRATIONS: string[] = [
  `
CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id), name TEXT NOT NULL,
  scopes TEXT NOT NULL, hash BYTEA NOT NULL, created_at TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS keys (
  tenant_id TEXT NOT NULL REFERENCES tenants(id), key_id TEXT NOT NULL, commitment TEXT NOT NULL,
  scheme TEXT NOT NULL, params TEXT NOT NULL, tokenizer TEXT NOT NULL, sealed BYTEA NOT NULL,
  origin TEXT NOT NULL, name TEXT, created_at TEXT NOT NULL, PRIMARY KEY (tenant_id, key_id)
);
CREATE TABLE IF NOT EXISTS cases (
  seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id), name TEXT NOT NULL,
  description TEXT, key_id TEXT NOT NULL, dedup INTEGER NOT NULL, normalize INTEGER NOT NULL,
  samples INTEGER NOT NULL DEFAULT 0, acc BYTEA NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_tenant ON cases (tenant_id, seq);
CREATE TABLE IF NOT EXISTS acc_deltas (
  case_id TEXT NOT NULL REFERENCES cases(id), samples INTEGER NOT NULL, bytes BYTEA NOT NULL,
  PRIMARY KEY (case_id, samples)
);
CREATE TABLE IF NOT EXISTS samples (
  case_id TEXT NOT NULL REFERENCES cases(id), seq INTEGER NOT NULL, id TEXT NOT NULL,
  idem_key TEXT, text TEXT NOT NULL, prompt TEXT, source TEXT, content_hash TEXT NOT NULL,
  tokens INTEGER NOT NULL, created_at TEXT NOT NULL,
  PRIMARY KEY (case_id, seq), UNIQUE (case_id, idem_key)
);
CREATE TABLE IF NOT EXISTS signing_keys (
  tenant_id TEXT PRIMARY KEY REFERENCES tenants(id), signer_id TEXT NOT NULL, public_key BYTEA NOT NULL,
  sealed BYTEA NOT NULL, created_at TEXT NOT NULL
);
`,
]

/** Tables added within schema version 1 (as SQLite's CREATE IF NOT EXISTS on every open); store.ts's ADDED_COLUMNS follow (#migrate). */
const ADDITIVE = `
CREATE TABLE IF NOT EXISTS schedules (
  tenant_id TEXT NOT NULL REFERENCES tenants(id), schedule_id TEXT NOT NULL, commitment TEXT NOT NULL,
  description TEXT NOT NULL, sealed BYTEA NOT NULL, origin TEXT NOT NULL, name TEXT, created_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, schedule_id)
);
CREATE TABLE IF NOT EXISTS case_logs (
  case_id TEXT PRIMARY KEY REFERENCES cases(id), head TEXT NOT NULL, records INTEGER NOT NULL,
  with_text INTEGER NOT NULL, signature TEXT, cohort_accounts TEXT NOT NULL, created_at TEXT NOT NULL
);
`

/** Advisory lock ids (any two fixed 64-bit numbers; 'tm' + purpose). */
const WRITE_LOCK = 0x746d5752 // 'tmWR'
const MIGRATE_LOCK = 0x746d4d47 // 'tmMG'

const CASE_META = 'seq, id, tenant_id, name, description, key_id, dedup, normalize, samples, created_at, updated_at'
/** How long one statement may take before the main thread gives up on the worker: a hang guard, twice pg-sync-worker.ts's statement_timeout. */
const WAIT_MS = 60_000
const ROLLBACK = new Error('rollback')

/** A database error from PostgreSQL, with its SQLSTATE as `PG_<sqlstate>` (errors.ts maps the causes to 503s). */
export class PgStoreError extends Error {
  readonly code: string
  constructor(message: string, sqlstate?: string) {
    super(message)
    this.name = 'PgStoreError'
    this.code = `PG_${sqlstate ?? 'UNKNOWN'}`
  }
}

/** Whether a --db / TOKENMARK_DB value names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db)
}

/** The URL without its password (for logs and `store.path`). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return 'postgres://…'
  }
}

/** The worker's built file: next to this one in dist, or in dist when this module runs from src (tests resolve packages to src). */
function workerUrl(): URL {
  const here = new URL('./pg-sync-worker.js', import.meta.url)
  return existsSync(fileURLToPath(here)) ? here : new URL('../dist/pg-sync-worker.js', import.meta.url)
}

function toBuffers<T>(row: Record<string, unknown>): T {
  for (const k in row) {
    const v = row[k]
    if (v instanceof Uint8Array && !Buffer.isBuffer(v)) row[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  }
  return row as T
}

export class PgStore implements Store {
  readonly kind = 'postgres' as const
  /** The database URL without its password. */
  readonly path: string
  readonly #worker: Worker
  readonly #port: MessageChannel['port1']
  readonly #flag: Int32Array
  #closed = false
  #inTx = false

  constructor(opts: { url: string }) {
    this.path = redactUrl(opts.url)
    const signal = new SharedArrayBuffer(4)
    this.#flag = new Int32Array(signal)
    const { port1, port2 } = new MessageChannel()
    this.#port = port1
    this.#worker = new Worker(workerUrl(), { workerData: { url: opts.url, port: port2, signal }, transferList: [port2] })
    // The worker must not keep the process alive once the server closes (close() ends it anyway).
    this.#worker.unref()
    try {
      this.#await()
      this.#migrate()
    } catch (e) {
      this.#closed = true
      this.#port.close()
      void this.#worker.terminate()
      throw e
    }
  }

  /** Brings the schema to SCHEMA_VERSION (once, whichever replica gets the lock first). */
  #migrate(): void {
    this.transaction(() => {
      this.#q('CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BYTEA NOT NULL)')
      const v = this.getMeta('schema_version')
      const at = v === undefined ? 0 : Number(v.toString())
      if (!Number.isInteger(at) || at > SCHEMA_VERSION) {
        throw new Error(`database schema version ${v?.toString()} is not supported by this build (expects ${SCHEMA_VERSION})`)
      }
      for (let i = at; i < SCHEMA_VERSION; i++) this.#q(MIGRATIONS[i])
      this.#q(ADDITIVE)
      // Only a column that is missing is added: ALTER TABLE locks the table even when IF NOT EXISTS finds it,
      // and other replicas may be serving from it while this one starts.
      for (const c of ADDED_COLUMNS) {
        const has = this.#q('SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2', [c.table, c.column]).rows.length > 0
        if (!has) this.#q(`ALTER TABLE ${c.table} ADD COLUMN ${c.column} ${c.type}`)
      }
      if (at !== SCHEMA_VERSION) this.setMeta('schema_version', Buffer.from(String(SCHEMA_VERSION)))
    }, MIGRATE_LOCK)
  }

  /** Waits for the worker's next answer and returns it (throws its error). */
  #await(): { rows: Record<string, unknown>[]; rowCount: number } {
    const r = Atomics.wait(this.#flag, 0, 0, WAIT_MS)
    Atomics.store(this.#flag, 0, 0)
    const msg = receiveMessageOnPort(this.#port)?.message as { rows?: Record<string, unknown>[]; rowCount?: number; error?: { message: string; code?: string } } | undefined
    if (!msg) {
      // The worker is stuck (PostgreSQL cancels statements after statement_timeout, well before this):
      // a late answer would be taken for the next statement's, so this store stops here; /readyz then
      // says E_STORE_CLOSED and the replica is replaced.
      this.#closed = true
      void this.#worker.terminate()
      throw new PgStoreError(r === 'timed-out' ? 'the database did not answer in time' : 'the database connection is gone', '08006')
    }
    if (msg.error) throw new PgStoreError(msg.error.message, msg.error.code)
    return { rows: msg.rows ?? [], rowCount: msg.rowCount ?? 0 }
  }

  #q(sql: string, params: unknown[] = []): { rows: Record<string, unknown>[]; rowCount: number } {
    if (this.#closed) throw new PgStoreError('the store is closed', '08003')
    this.#port.postMessage({ sql, params })
    return this.#await()
  }
  #one<T>(sql: string, params: unknown[] = []): T | undefined {
    const r = this.#q(sql, params).rows[0]
    return r ? toBuffers<T>(r) : undefined
  }
  #all<T>(sql: string, params: unknown[] = []): T[] {
    return this.#q(sql, params).rows.map((r) => toBuffers<T>(r))
  }

  get closed(): boolean {
    return this.#closed
  }

  close(): void {
    if (this.#closed) return
    this.#port.postMessage({ close: true })
    try {
      this.#await()
    } catch {
      // closing anyway
    }
    this.#closed = true
    this.#port.close()
    void this.#worker.terminate()
  }

  /** Whether a write would succeed now: a write inside a transaction that is rolled back. */
  probeWrite(): void {
    try {
      this.transaction(() => {
        this.#q("INSERT INTO meta (k, v) VALUES ('readyz_probe', '\\x00') ON CONFLICT (k) DO UPDATE SET v = excluded.v")
        throw ROLLBACK
      }, undefined, 100)
    } catch (e) {
      if (e !== ROLLBACK) throw e
    }
  }

  caseTextBytes(caseId: string): number {
    return this.#one<{ n: number }>('SELECT coalesce(sum(octet_length(text) + coalesce(octet_length(prompt), 0)), 0)::float8 AS n FROM samples WHERE case_id = $1', [caseId])!.n
  }

  /**
   * Runs fn in one transaction (committed, or rolled back when fn throws) holding the write lock, so
   * transactions of every replica run one at a time like SQLite's IMMEDIATE ones. `lockMs` bounds the
   * wait for that lock (5 s, SQLite's busy_timeout here).
   */
  transaction<T>(fn: () => T, lock: number = WRITE_LOCK, lockMs = 5_000): T {
    if (this.#inTx) return fn()
    this.#inTx = true
    try {
      // One round trip (the simple protocol runs the three in order); a lock timeout lands in the catch.
      this.#q(`BEGIN; SET LOCAL lock_timeout = ${Math.floor(lockMs)}; SELECT pg_advisory_xact_lock(${lock})`)
      const out = fn()
      this.#q('COMMIT')
      return out
    } catch (e) {
      try {
        this.#q('ROLLBACK')
      } catch {
        // the connection is gone: PostgreSQL rolls back on its own
      }
      throw e
    } finally {
      this.#inTx = false
    }
  }

  getMeta(k: string): Buffer | undefined {
    return this.#one<{ v: Buffer }>('SELECT v FROM meta WHERE k = $1', [k])?.v
  }
  setMeta(k: string, v: Buffer): void {
    this.#q('INSERT INTO meta (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v', [k, v])
  }

  insertTenant(row: TenantRow): void {
    this.#q('INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)', [row.id, row.name, row.created_at])
  }
  getTenant(id: string): TenantRow | undefined {
    return this.#one<TenantRow>('SELECT * FROM tenants WHERE id = $1', [id])
  }
  countTenants(): number {
    return this.#one<{ n: number }>('SELECT count(*) AS n FROM tenants')!.n
  }

  insertToken(row: Omit<TokenRow, 'revoked'>): void {
    this.#q('INSERT INTO tokens (id, tenant_id, name, scopes, hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [row.id, row.tenant_id, row.name, row.scopes, row.hash, row.created_at])
  }
  getToken(id: string): TokenRow | undefined {
    return this.#one<TokenRow>('SELECT * FROM tokens WHERE id = $1', [id])
  }
  listTokens(tenantId: string): TokenRow[] {
    return this.#all<TokenRow>('SELECT * FROM tokens WHERE tenant_id = $1 ORDER BY created_at, id', [tenantId])
  }
  revokeToken(tenantId: string, id: string): boolean {
    return this.#q('UPDATE tokens SET revoked = 1 WHERE tenant_id = $1 AND id = $2 AND revoked = 0', [tenantId, id]).rowCount === 1
  }

  insertKey(row: KeyRow): void {
    this.#q('INSERT INTO keys (tenant_id, key_id, commitment, scheme, params, tokenizer, sealed, origin, name, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [
      row.tenant_id,
      row.key_id,
      row.commitment,
      row.scheme,
      row.params,
      row.tokenizer,
      row.sealed,
      row.origin,
      row.name,
      row.created_at,
    ])
  }
  getKey(tenantId: string, keyId: string): KeyRow | undefined {
    return this.#one<KeyRow>('SELECT * FROM keys WHERE tenant_id = $1 AND key_id = $2', [tenantId, keyId])
  }
  listKeys(tenantId: string): KeyRow[] {
    return this.#all<KeyRow>('SELECT * FROM keys WHERE tenant_id = $1 ORDER BY created_at, key_id', [tenantId])
  }

  insertSigningKey(row: SigningKeyRow): boolean {
    return (
      this.#q('INSERT INTO signing_keys (tenant_id, signer_id, public_key, sealed, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO NOTHING', [
        row.tenant_id,
        row.signer_id,
        row.public_key,
        row.sealed,
        row.created_at,
      ]).rowCount === 1
    )
  }
  getSigningKey(tenantId: string): SigningKeyRow | undefined {
    return this.#one<SigningKeyRow>('SELECT * FROM signing_keys WHERE tenant_id = $1', [tenantId])
  }

  insertSchedule(row: ScheduleRow): void {
    this.#q('INSERT INTO schedules (tenant_id, schedule_id, commitment, description, sealed, origin, name, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      row.tenant_id,
      row.schedule_id,
      row.commitment,
      row.description,
      row.sealed,
      row.origin,
      row.name,
      row.created_at,
    ])
  }
  getSchedule(tenantId: string, scheduleId: string): ScheduleRow | undefined {
    return this.#one<ScheduleRow>('SELECT * FROM schedules WHERE tenant_id = $1 AND schedule_id = $2', [tenantId, scheduleId])
  }
  listSchedules(tenantId: string): ScheduleRow[] {
    return this.#all<ScheduleRow>('SELECT * FROM schedules WHERE tenant_id = $1 ORDER BY created_at, schedule_id', [tenantId])
  }
  servedKeys(caseId: string, samples: number): (string | null)[] {
    return this.#all<{ served_key: string | null }>('SELECT served_key FROM samples WHERE case_id = $1 AND seq <= $2 ORDER BY seq', [caseId, samples]).map((r) => r.served_key)
  }
  putCaseLog(row: CaseLogRow): void {
    this.#q(
      'INSERT INTO case_logs (case_id, head, records, with_text, signature, cohort_accounts, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (case_id) DO UPDATE SET head = excluded.head, records = excluded.records, with_text = excluded.with_text, signature = excluded.signature, cohort_accounts = excluded.cohort_accounts, created_at = excluded.created_at',
      [row.case_id, row.head, row.records, row.with_text, row.signature, row.cohort_accounts, row.created_at],
    )
  }
  getCaseLog(caseId: string): CaseLogRow | undefined {
    return this.#one<CaseLogRow>('SELECT * FROM case_logs WHERE case_id = $1', [caseId])
  }

  insertCase(row: CaseRow): void {
    this.#q('INSERT INTO cases (id, tenant_id, name, description, key_id, dedup, normalize, samples, acc, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)', [
      row.id,
      row.tenant_id,
      row.name,
      row.description,
      row.key_id,
      row.dedup,
      row.normalize,
      row.samples,
      row.acc,
      row.created_at,
      row.updated_at,
    ])
  }
  getCase(tenantId: string, id: string): CaseMeta | undefined {
    return this.#one<CaseMeta>(`SELECT ${CASE_META} FROM cases WHERE tenant_id = $1 AND id = $2`, [tenantId, id])
  }
  getCaseEvidence(id: string): { acc: Buffer; samples: number; deltas: Buffer[] } | undefined {
    const row = this.#one<{ acc: Buffer; samples: number }>('SELECT acc, samples FROM cases WHERE id = $1', [id])
    if (!row) return undefined
    const deltas = this.#all<{ bytes: Buffer }>('SELECT bytes FROM acc_deltas WHERE case_id = $1 ORDER BY samples', [id]).map((d) => d.bytes)
    return { ...row, deltas }
  }
  insertAccDelta(caseId: string, samples: number, bytes: Uint8Array): void {
    this.#q('INSERT INTO acc_deltas (case_id, samples, bytes) VALUES ($1, $2, $3)', [caseId, samples, bytes])
  }
  checkpointCase(caseId: string, acc: Uint8Array): void {
    this.#q('UPDATE cases SET acc = $1 WHERE id = $2', [acc, caseId])
    this.#q('DELETE FROM acc_deltas WHERE case_id = $1', [caseId])
  }
  updateCaseSamples(id: string, samples: number, updatedAt: string): void {
    this.#q('UPDATE cases SET samples = $1, updated_at = $2 WHERE id = $3', [samples, updatedAt, id])
  }
  listCases(tenantId: string, limit: number, beforeSeq?: number): CaseMeta[] {
    if (beforeSeq !== undefined) {
      return this.#all<CaseMeta>(`SELECT ${CASE_META} FROM cases WHERE tenant_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`, [tenantId, beforeSeq, limit])
    }
    return this.#all<CaseMeta>(`SELECT ${CASE_META} FROM cases WHERE tenant_id = $1 ORDER BY seq DESC LIMIT $2`, [tenantId, limit])
  }

  insertSample(row: SampleRow): void {
    this.insertSamples([row])
  }
  /** Many samples in one statement (one round trip to the worker and the server per batch). */
  insertSamples(rows: readonly SampleRow[]): void {
    const cols = 11
    for (let at = 0; at < rows.length; at += 1000) {
      const chunk = rows.slice(at, at + 1000)
      const values: unknown[] = []
      const tuples = chunk.map((r, i) => {
        values.push(r.case_id, r.seq, r.id, r.idem_key, r.text, r.prompt, r.source, r.content_hash, r.tokens, r.created_at, r.served_key)
        return `(${Array.from({ length: cols }, (_, j) => `$${i * cols + j + 1}`).join(', ')})`
      })
      this.#q(`INSERT INTO samples (case_id, seq, id, idem_key, text, prompt, source, content_hash, tokens, created_at, served_key) VALUES ${tuples.join(', ')}`, values)
    }
  }
  getSampleByIdem(caseId: string, idemKey: string): Pick<SampleRow, 'seq' | 'id' | 'content_hash'> | undefined {
    return this.#one('SELECT seq, id, content_hash FROM samples WHERE case_id = $1 AND idem_key = $2', [caseId, idemKey])
  }
  getSamplesByIdem(caseId: string, idemKeys: readonly string[]): Map<string, Pick<SampleRow, 'seq' | 'id' | 'content_hash'>> {
    const out = new Map<string, Pick<SampleRow, 'seq' | 'id' | 'content_hash'>>()
    if (idemKeys.length === 0) return out
    const rows = this.#all<{ idem_key: string; seq: number; id: string; content_hash: string }>('SELECT idem_key, seq, id, content_hash FROM samples WHERE case_id = $1 AND idem_key = ANY($2::text[])', [caseId, [...idemKeys]])
    for (const r of rows) out.set(r.idem_key, { seq: r.seq, id: r.id, content_hash: r.content_hash })
    return out
  }
  listSamples(caseId: string, afterSeq: number, limit: number): SampleRow[] {
    return this.#all<SampleRow>('SELECT * FROM samples WHERE case_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [caseId, afterSeq, limit])
  }
  /** Every sample of a case in order, read in pages (keyset by seq) so a large case never sits in memory whole. */
  *iterateSamples(caseId: string): IterableIterator<SampleRow> {
    let after = 0
    for (;;) {
      const page = this.listSamples(caseId, after, 1000)
      yield* page
      if (page.length < 1000) return
      after = page[page.length - 1].seq
    }
  }
}
