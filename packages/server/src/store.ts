/**
 * The server's store: one interface (Store) with two implementations, this file's SQLite store (the
 * default: one file, nothing else to run) and PostgreSQL (store-pg.ts) for replicas sharing a database
 * (issue 16 §1); openStore picks by the --db value.
 *
 * The embedded store: one SQLite database (better-sqlite3, WAL, synchronous=FULL) holding tenants,
 * API tokens (hashes only), sealed watermark keys and evidence signing keys, cases, their samples and
 * each case's merged accumulator. Calls are synchronous, so a write has committed before the caller
 * sends its reply. New tables are additive (CREATE IF NOT EXISTS on every open), so a database made by
 * an earlier build of the same schema version gains them on its next start.
 * Every query that reads tenant data takes the tenant id: there is no query by bare id.
 */
import { chmodSync, existsSync } from 'node:fs'
import Database from 'better-sqlite3'

export const SCHEMA_VERSION = 1

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id), name TEXT NOT NULL,
  scopes TEXT NOT NULL, hash BLOB NOT NULL, created_at TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS keys (
  tenant_id TEXT NOT NULL REFERENCES tenants(id), key_id TEXT NOT NULL, commitment TEXT NOT NULL,
  scheme TEXT NOT NULL, params TEXT NOT NULL, tokenizer TEXT NOT NULL, sealed BLOB NOT NULL,
  origin TEXT NOT NULL, name TEXT, created_at TEXT NOT NULL, PRIMARY KEY (tenant_id, key_id)
);
CREATE TABLE IF NOT EXISTS cases (
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id), name TEXT NOT NULL,
  description TEXT, key_id TEXT NOT NULL, dedup INTEGER NOT NULL, normalize INTEGER NOT NULL,
  samples INTEGER NOT NULL DEFAULT 0, acc BLOB NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_tenant ON cases (tenant_id);
CREATE TABLE IF NOT EXISTS acc_deltas (
  case_id TEXT NOT NULL REFERENCES cases(id), samples INTEGER NOT NULL, bytes BLOB NOT NULL,
  PRIMARY KEY (case_id, samples)
);
CREATE TABLE IF NOT EXISTS samples (
  case_id TEXT NOT NULL REFERENCES cases(id), seq INTEGER NOT NULL, id TEXT NOT NULL,
  idem_key TEXT, text TEXT NOT NULL, prompt TEXT, source TEXT, content_hash TEXT NOT NULL,
  tokens INTEGER NOT NULL, created_at TEXT NOT NULL,
  PRIMARY KEY (case_id, seq), UNIQUE (case_id, idem_key)
);
CREATE TABLE IF NOT EXISTS signing_keys (
  tenant_id TEXT PRIMARY KEY REFERENCES tenants(id), signer_id TEXT NOT NULL, public_key BLOB NOT NULL,
  sealed BLOB NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS schedules (
  tenant_id TEXT NOT NULL REFERENCES tenants(id), schedule_id TEXT NOT NULL, commitment TEXT NOT NULL,
  description TEXT NOT NULL, sealed BLOB NOT NULL, origin TEXT NOT NULL, name TEXT, created_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, schedule_id)
);
CREATE TABLE IF NOT EXISTS case_logs (
  case_id TEXT PRIMARY KEY REFERENCES cases(id), head TEXT NOT NULL, records INTEGER NOT NULL,
  with_text INTEGER NOT NULL, signature TEXT, cohort_accounts TEXT NOT NULL, created_at TEXT NOT NULL
);
`

/**
 * Columns added after version 1 (additive, nullable): samples.served_key, the key id (tmk_…) that served a
 * sample's prompt in a case bound to a key schedule (schedule-cases.ts); null in every other case.
 */
export const ADDED_COLUMNS: readonly { table: string; column: string; type: string }[] = [{ table: 'samples', column: 'served_key', type: 'TEXT' }]

export interface TenantRow {
  id: string
  name: string
  created_at: string
}
export interface TokenRow {
  id: string
  tenant_id: string
  name: string
  scopes: string
  hash: Buffer
  created_at: string
  revoked: number
}
export interface KeyRow {
  tenant_id: string
  key_id: string
  commitment: string
  scheme: string
  params: string
  tokenizer: string
  sealed: Buffer
  origin: string
  name: string | null
  created_at: string
}
/** A tenant's Ed25519 evidence signing key: the secret sealed like watermark keys, the public half in clear. */
export interface SigningKeyRow {
  tenant_id: string
  signer_id: string
  public_key: Buffer
  sealed: Buffer
  created_at: string
}
/** A tenant's key schedule (issue 13): its public description in clear, its secret file sealed like watermark keys. */
export interface ScheduleRow {
  tenant_id: string
  schedule_id: string
  commitment: string
  /** The schedule's public description (JSON, core's ScheduleDescription). */
  description: string
  sealed: Buffer
  origin: string
  name: string | null
  created_at: string
}
/**
 * The serving log a schedule case's investigator uploaded (schedule-cases.ts), as much of it as the case
 * states: its head, counts, the signed head's check, and the accounts each cohort served (JSON: cohort →
 * sorted accounts, over every epoch). The log itself stays with the provider.
 */
export interface CaseLogRow {
  case_id: string
  head: string
  records: number
  with_text: number
  /** JSON of evidence's LogHeadCheck, or null when no signed head was given. */
  signature: string | null
  cohort_accounts: string
  created_at: string
}
export interface CaseRow {
  id: string
  tenant_id: string
  name: string
  description: string | null
  /** The key (tmk_…) the case is tested against, or the key schedule (tmks_…) of a case bound to one. */
  key_id: string
  dedup: number
  normalize: number
  samples: number
  /**
   * Accumulator.toBytes() of the case's merged evidence at the last checkpoint; the batches since then
   * are in acc_deltas (each batch's own accumulator), and the merged accumulator is their merge.
   */
  acc: Buffer
  created_at: string
  updated_at: string
}
/** A case row without its evidence blobs (which can be megabytes for a large case). */
export type CaseMeta = Omit<CaseRow, 'acc'> & { /** Insertion order (SQLite rowid, PostgreSQL identity), for pagination. */ seq: number }
const CASE_META = 'rowid AS seq, id, tenant_id, name, description, key_id, dedup, normalize, samples, created_at, updated_at'

export interface SampleRow {
  case_id: string
  seq: number
  id: string
  idem_key: string | null
  text: string
  prompt: string | null
  source: string | null
  content_hash: string
  tokens: number
  created_at: string
  /** The key id that served the sample's prompt (cases bound to a key schedule), else null. */
  served_key: string | null
}

/**
 * What the server needs from a database. Calls are synchronous (see store-pg.ts for why), so a write
 * has committed before the caller sends its reply, and `transaction(fn)` runs fn with no other request's
 * statements in between: either every write of fn commits or none does.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres'
  /** The database file, or the PostgreSQL URL without its password. */
  readonly path: string
  readonly closed: boolean
  close(): void
  /** Throws the store's error when a write would fail now (read-only, full, locked, unreachable); writes nothing. */
  probeWrite(): void
  caseTextBytes(caseId: string): number
  transaction<T>(fn: () => T): T
  getMeta(k: string): Buffer | undefined
  setMeta(k: string, v: Buffer): void
  insertTenant(row: TenantRow): void
  getTenant(id: string): TenantRow | undefined
  countTenants(): number
  insertToken(row: Omit<TokenRow, 'revoked'>): void
  getToken(id: string): TokenRow | undefined
  listTokens(tenantId: string): TokenRow[]
  revokeToken(tenantId: string, id: string): boolean
  insertKey(row: KeyRow): void
  getKey(tenantId: string, keyId: string): KeyRow | undefined
  listKeys(tenantId: string): KeyRow[]
  insertSigningKey(row: SigningKeyRow): boolean
  getSigningKey(tenantId: string): SigningKeyRow | undefined
  insertSchedule(row: ScheduleRow): void
  getSchedule(tenantId: string, scheduleId: string): ScheduleRow | undefined
  listSchedules(tenantId: string): ScheduleRow[]
  /** The serving key id of each of a case's first `samples` samples, in order. */
  servedKeys(caseId: string, samples: number): (string | null)[]
  /** Stores (or replaces) a case's serving log summary. */
  putCaseLog(row: CaseLogRow): void
  getCaseLog(caseId: string): CaseLogRow | undefined
  insertCase(row: CaseRow): void
  getCase(tenantId: string, id: string): CaseMeta | undefined
  getCaseEvidence(id: string): { acc: Buffer; samples: number; deltas: Buffer[] } | undefined
  insertAccDelta(caseId: string, samples: number, bytes: Uint8Array): void
  checkpointCase(caseId: string, acc: Uint8Array): void
  updateCaseSamples(id: string, samples: number, updatedAt: string): void
  listCases(tenantId: string, limit: number, beforeSeq?: number): CaseMeta[]
  insertSample(row: SampleRow): void
  /** A batch's samples (PostgreSQL sends them in one statement). */
  insertSamples(rows: readonly SampleRow[]): void
  getSampleByIdem(caseId: string, idemKey: string): Pick<SampleRow, 'seq' | 'id' | 'content_hash'> | undefined
  /** The stored samples of a case holding any of these idempotency keys, by key (one query per batch on PostgreSQL). */
  getSamplesByIdem(caseId: string, idemKeys: readonly string[]): Map<string, Pick<SampleRow, 'seq' | 'id' | 'content_hash'>>
  listSamples(caseId: string, afterSeq: number, limit: number): SampleRow[]
  iterateSamples(caseId: string): IterableIterator<SampleRow>
}

export interface StoreOptions {
  /** Database file, or ":memory:" (tests). */
  path: string
}

const ROLLBACK = new Error('rollback')

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const
  readonly db: Database.Database
  readonly path: string
  #closed = false

  constructor(opts: StoreOptions) {
    this.path = opts.path
    const fresh = opts.path !== ':memory:' && opts.path !== '' && !existsSync(opts.path)
    this.db = new Database(opts.path)
    // Owner-only: the file holds token hashes and sealed keys. SQLite gives -wal and -shm files the
    // database file's permissions.
    if (fresh) chmodSync(opts.path, 0o600)
    this.db.pragma('journal_mode = WAL')
    // FULL: a commit is on disk (WAL fsynced) before the statement returns, so an acknowledged
    // sample survives a power loss as well as a process crash.
    this.db.pragma('synchronous = FULL')
    this.db.pragma('foreign_keys = ON')
    this.db.pragma('busy_timeout = 5000')
    this.db.exec(SCHEMA)
    for (const c of ADDED_COLUMNS) {
      const cols = this.db.prepare(`PRAGMA table_info(${c.table})`).all() as { name: string }[]
      if (!cols.some((x) => x.name === c.column)) this.db.exec(`ALTER TABLE ${c.table} ADD COLUMN ${c.column} ${c.type}`)
    }
    const v = this.getMeta('schema_version')
    if (v === undefined) this.setMeta('schema_version', Buffer.from(String(SCHEMA_VERSION)))
    else if (v.toString() !== String(SCHEMA_VERSION)) {
      throw new Error(`database schema version ${v.toString()} is not supported by this build (expects ${SCHEMA_VERSION})`)
    }
  }

  get closed(): boolean {
    return this.#closed
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.db.close()
  }

  /**
   * Whether a write would succeed now: takes the write lock and allocates a few pages inside a savepoint
   * that is rolled back, so a read-only database (file mode, immutable, query_only) or a full one
   * (max_page_count) throws its SqliteError here, and nothing is left behind.
   */
  probeWrite(): void {
    // Wait at most 100 ms for another writer's lock (not the 5 s a real write waits): a probe must not
    // hold the event loop.
    this.db.pragma('busy_timeout = 100')
    try {
      this.db
        .transaction(() => {
          this.db.prepare('INSERT INTO meta (k, v) VALUES (?, zeroblob(16384)) ON CONFLICT (k) DO UPDATE SET v = excluded.v').run('readyz_probe')
          throw ROLLBACK
        })
        .immediate()
    } catch (e) {
      if (e !== ROLLBACK) throw e
    } finally {
      this.db.pragma('busy_timeout = 5000')
    }
  }

  /** UTF-8 bytes of a case's sample texts and prompts. */
  caseTextBytes(caseId: string): number {
    const r = this.stmt('SELECT coalesce(sum(length(CAST(text AS BLOB)) + coalesce(length(CAST(prompt AS BLOB)), 0)), 0) AS n FROM samples WHERE case_id = ?').get(caseId) as { n: number }
    return r.n
  }

  /** Runs fn in one IMMEDIATE transaction (committed, or rolled back when fn throws). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate()
  }

  readonly #stmts = new Map<string, Database.Statement>()
  /** Prepared statements are compiled once per SQL text. */
  private stmt(sql: string): Database.Statement {
    let s = this.#stmts.get(sql)
    if (!s) {
      s = this.db.prepare(sql)
      this.#stmts.set(sql, s)
    }
    return s
  }

  getMeta(k: string): Buffer | undefined {
    const row = this.db.prepare('SELECT v FROM meta WHERE k = ?').get(k) as { v: Buffer } | undefined
    return row?.v
  }
  setMeta(k: string, v: Buffer): void {
    this.db.prepare('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v').run(k, v)
  }

  // tenants
  insertTenant(row: TenantRow): void {
    this.stmt('INSERT INTO tenants (id, name, created_at) VALUES (@id, @name, @created_at)').run(row)
  }
  getTenant(id: string): TenantRow | undefined {
    return this.stmt('SELECT * FROM tenants WHERE id = ?').get(id) as TenantRow | undefined
  }
  countTenants(): number {
    return (this.stmt('SELECT count(*) AS n FROM tenants').get() as { n: number }).n
  }

  // tokens
  insertToken(row: Omit<TokenRow, 'revoked'>): void {
    this.stmt('INSERT INTO tokens (id, tenant_id, name, scopes, hash, created_at) VALUES (@id, @tenant_id, @name, @scopes, @hash, @created_at)').run(row)
  }
  getToken(id: string): TokenRow | undefined {
    return this.stmt('SELECT * FROM tokens WHERE id = ?').get(id) as TokenRow | undefined
  }
  listTokens(tenantId: string): TokenRow[] {
    return this.stmt('SELECT * FROM tokens WHERE tenant_id = ? ORDER BY created_at, id').all(tenantId) as TokenRow[]
  }
  revokeToken(tenantId: string, id: string): boolean {
    return this.stmt('UPDATE tokens SET revoked = 1 WHERE tenant_id = ? AND id = ? AND revoked = 0').run(tenantId, id).changes === 1
  }

  // keys
  insertKey(row: KeyRow): void {
    this.stmt(
        'INSERT INTO keys (tenant_id, key_id, commitment, scheme, params, tokenizer, sealed, origin, name, created_at) VALUES (@tenant_id, @key_id, @commitment, @scheme, @params, @tokenizer, @sealed, @origin, @name, @created_at)',
      )
      .run(row)
  }
  getKey(tenantId: string, keyId: string): KeyRow | undefined {
    return this.stmt('SELECT * FROM keys WHERE tenant_id = ? AND key_id = ?').get(tenantId, keyId) as KeyRow | undefined
  }
  listKeys(tenantId: string): KeyRow[] {
    return this.stmt('SELECT * FROM keys WHERE tenant_id = ? ORDER BY created_at, key_id').all(tenantId) as KeyRow[]
  }

  // signing keys (one per tenant)
  /** Inserts the tenant's signing key unless it has one already; true when this row was inserted. */
  insertSigningKey(row: SigningKeyRow): boolean {
    return (
      this.stmt('INSERT INTO signing_keys (tenant_id, signer_id, public_key, sealed, created_at) VALUES (@tenant_id, @signer_id, @public_key, @sealed, @created_at) ON CONFLICT (tenant_id) DO NOTHING').run(row)
        .changes === 1
    )
  }
  getSigningKey(tenantId: string): SigningKeyRow | undefined {
    return this.stmt('SELECT * FROM signing_keys WHERE tenant_id = ?').get(tenantId) as SigningKeyRow | undefined
  }

  // key schedules
  insertSchedule(row: ScheduleRow): void {
    this.stmt(
        'INSERT INTO schedules (tenant_id, schedule_id, commitment, description, sealed, origin, name, created_at) VALUES (@tenant_id, @schedule_id, @commitment, @description, @sealed, @origin, @name, @created_at)',
      )
      .run(row)
  }
  getSchedule(tenantId: string, scheduleId: string): ScheduleRow | undefined {
    return this.stmt('SELECT * FROM schedules WHERE tenant_id = ? AND schedule_id = ?').get(tenantId, scheduleId) as ScheduleRow | undefined
  }
  listSchedules(tenantId: string): ScheduleRow[] {
    return this.stmt('SELECT * FROM schedules WHERE tenant_id = ? ORDER BY created_at, schedule_id').all(tenantId) as ScheduleRow[]
  }
  servedKeys(caseId: string, samples: number): (string | null)[] {
    return (this.stmt('SELECT served_key FROM samples WHERE case_id = ? AND seq <= ? ORDER BY seq').all(caseId, samples) as { served_key: string | null }[]).map((r) => r.served_key)
  }
  putCaseLog(row: CaseLogRow): void {
    this.stmt(
        'INSERT INTO case_logs (case_id, head, records, with_text, signature, cohort_accounts, created_at) VALUES (@case_id, @head, @records, @with_text, @signature, @cohort_accounts, @created_at) ON CONFLICT (case_id) DO UPDATE SET head = excluded.head, records = excluded.records, with_text = excluded.with_text, signature = excluded.signature, cohort_accounts = excluded.cohort_accounts, created_at = excluded.created_at',
      )
      .run(row)
  }
  getCaseLog(caseId: string): CaseLogRow | undefined {
    return this.stmt('SELECT * FROM case_logs WHERE case_id = ?').get(caseId) as CaseLogRow | undefined
  }

  // cases
  insertCase(row: CaseRow): void {
    this.stmt(
        'INSERT INTO cases (id, tenant_id, name, description, key_id, dedup, normalize, samples, acc, created_at, updated_at) VALUES (@id, @tenant_id, @name, @description, @key_id, @dedup, @normalize, @samples, @acc, @created_at, @updated_at)',
      )
      .run(row)
  }
  getCase(tenantId: string, id: string): CaseMeta | undefined {
    return this.stmt(`SELECT ${CASE_META} FROM cases WHERE tenant_id = ? AND id = ?`).get(tenantId, id) as CaseMeta | undefined
  }
  /** The case's checkpointed accumulator and the per-batch accumulators written since, in order. */
  getCaseEvidence(id: string): { acc: Buffer; samples: number; deltas: Buffer[] } | undefined {
    const row = this.stmt('SELECT acc, samples FROM cases WHERE id = ?').get(id) as { acc: Buffer; samples: number } | undefined
    if (!row) return undefined
    const deltas = (this.stmt('SELECT bytes FROM acc_deltas WHERE case_id = ? ORDER BY samples').all(id) as { bytes: Buffer }[]).map((d) => d.bytes)
    return { ...row, deltas }
  }
  /** Appends one batch's accumulator (the batch ends at sample number `samples`). */
  insertAccDelta(caseId: string, samples: number, bytes: Uint8Array): void {
    this.stmt('INSERT INTO acc_deltas (case_id, samples, bytes) VALUES (?, ?, ?)').run(caseId, samples, bytes)
  }
  /** Replaces the checkpoint with the merged accumulator and drops the deltas it now contains. */
  checkpointCase(caseId: string, acc: Uint8Array): void {
    this.stmt('UPDATE cases SET acc = ? WHERE id = ?').run(acc, caseId)
    this.stmt('DELETE FROM acc_deltas WHERE case_id = ?').run(caseId)
  }
  updateCaseSamples(id: string, samples: number, updatedAt: string): void {
    this.stmt('UPDATE cases SET samples = ?, updated_at = ? WHERE id = ?').run(samples, updatedAt, id)
  }
  /** Cases of a tenant, newest first, keyset-paginated by insertion order. */
  listCases(tenantId: string, limit: number, beforeSeq?: number): CaseMeta[] {
    if (beforeSeq !== undefined) {
      return this.stmt(`SELECT ${CASE_META} FROM cases WHERE tenant_id = ? AND rowid < ? ORDER BY rowid DESC LIMIT ?`).all(tenantId, beforeSeq, limit) as CaseMeta[]
    }
    return this.stmt(`SELECT ${CASE_META} FROM cases WHERE tenant_id = ? ORDER BY rowid DESC LIMIT ?`).all(tenantId, limit) as CaseMeta[]
  }

  // samples
  insertSample(row: SampleRow): void {
    this.stmt(
        'INSERT INTO samples (case_id, seq, id, idem_key, text, prompt, source, content_hash, tokens, created_at, served_key) VALUES (@case_id, @seq, @id, @idem_key, @text, @prompt, @source, @content_hash, @tokens, @created_at, @served_key)',
      )
      .run(row)
  }
  insertSamples(rows: readonly SampleRow[]): void {
    for (const r of rows) this.insertSample(r)
  }
  getSampleByIdem(caseId: string, idemKey: string): Pick<SampleRow, 'seq' | 'id' | 'content_hash'> | undefined {
    return this.stmt('SELECT seq, id, content_hash FROM samples WHERE case_id = ? AND idem_key = ?').get(caseId, idemKey) as
      | Pick<SampleRow, 'seq' | 'id' | 'content_hash'>
      | undefined
  }
  getSamplesByIdem(caseId: string, idemKeys: readonly string[]): Map<string, Pick<SampleRow, 'seq' | 'id' | 'content_hash'>> {
    const out = new Map<string, Pick<SampleRow, 'seq' | 'id' | 'content_hash'>>()
    for (const k of idemKeys) {
      const r = this.getSampleByIdem(caseId, k)
      if (r) out.set(k, r)
    }
    return out
  }
  listSamples(caseId: string, afterSeq: number, limit: number): SampleRow[] {
    return this.stmt('SELECT * FROM samples WHERE case_id = ? AND seq > ? ORDER BY seq LIMIT ?').all(caseId, afterSeq, limit) as SampleRow[]
  }
  /** Every sample of a case in order (for reports and bundles). */
  *iterateSamples(caseId: string): IterableIterator<SampleRow> {
    yield* this.db.prepare('SELECT * FROM samples WHERE case_id = ? ORDER BY seq').iterate(caseId) as IterableIterator<SampleRow>
  }
}
