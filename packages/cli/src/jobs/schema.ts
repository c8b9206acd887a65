/**
 * The tables of sharded scans in PostgreSQL (schema `tokenmark_scan`), beside pg-boss's own schema
 * `pgboss` that holds the queue. Migrations are numbered and applied once, under an advisory lock so that
 * workers and scans starting together do not race.
 */
import pg from 'pg'

const MIGRATIONS: string[] = [
  // 1: a scan, its corpus in reading order, the routed blocks (phase 1: per block of texts, each shard's
  // events and the block's position counts), and one part per reduced shard (bytes with their SHA-256).
  `CREATE TABLE tokenmark_scan.scans (
     id uuid PRIMARY KEY,
     key_id text NOT NULL,
     shard_count integer NOT NULL,
     tokenizer text,
     normalize boolean NOT NULL,
     prompts jsonb NOT NULL,
     filter bytea,
     texts bigint NOT NULL,
     blocks integer NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(),
     merkle_root text,
     result jsonb
   );
   CREATE TABLE tokenmark_scan.texts (
     scan_id uuid NOT NULL REFERENCES tokenmark_scan.scans ON DELETE CASCADE,
     seq bigint NOT NULL,
     text text NOT NULL,
     prompt text,
     PRIMARY KEY (scan_id, seq)
   );
   CREATE TABLE tokenmark_scan.blocks (
     scan_id uuid NOT NULL REFERENCES tokenmark_scan.scans ON DELETE CASCADE,
     block integer NOT NULL,
     texts bigint NOT NULL,
     tokens_total bigint NOT NULL,
     no_context bigint NOT NULL,
     PRIMARY KEY (scan_id, block)
   );
   CREATE TABLE tokenmark_scan.routed (
     scan_id uuid NOT NULL REFERENCES tokenmark_scan.scans ON DELETE CASCADE,
     block integer NOT NULL,
     shard_index integer NOT NULL,
     events bytea NOT NULL,
     PRIMARY KEY (scan_id, block, shard_index)
   );
   CREATE TABLE tokenmark_scan.parts (
     scan_id uuid NOT NULL REFERENCES tokenmark_scan.scans ON DELETE CASCADE,
     shard_index integer NOT NULL,
     sha256 text NOT NULL,
     bytes bytea NOT NULL,
     tokens_seen bigint NOT NULL,
     finished_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (scan_id, shard_index)
   );`,
  // 2: each routed block's additive corpus digest (core scan-identity.ts), so a part names the corpus it read.
  `ALTER TABLE tokenmark_scan.blocks ADD COLUMN corpus bytea;`,
  // 3: events and parts are PRF words, which do not compress: store them out of line as they are instead of
  // letting PostgreSQL try pglz on every row first.
  `ALTER TABLE tokenmark_scan.routed ALTER COLUMN events SET STORAGE EXTERNAL;
   ALTER TABLE tokenmark_scan.parts ALTER COLUMN bytes SET STORAGE EXTERNAL;`,
]

const LOCK_ID = 0x746b6d31 // "tkm1": serialises migrations across processes

/** A pool on `url` with the scan tables migrated. */
export async function openScanDb(url: string): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max: 4 })
  pool.on('error', () => {}) // an idle client's lost connection surfaces on the next query
  const c = await pool.connect()
  try {
    await c.query('BEGIN')
    await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_ID])
    await c.query('CREATE SCHEMA IF NOT EXISTS tokenmark_scan')
    await c.query('CREATE TABLE IF NOT EXISTS tokenmark_scan.migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())')
    const { rows } = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM tokenmark_scan.migrations')
    for (let v = (rows[0].v ?? 0) + 1; v <= MIGRATIONS.length; v++) {
      await c.query(MIGRATIONS[v - 1])
      await c.query('INSERT INTO tokenmark_scan.migrations (version) VALUES ($1)', [v])
    }
    await c.query('COMMIT')
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {})
    await pool.end()
    throw e
  } finally {
    c.release()
  }
  return pool
}

/** What a worker needs to score a shard (the key itself never enters the database: workers hold the key file). */
export interface ScanRow {
  id: string
  key_id: string
  shard_count: number
  tokenizer: string | null
  normalize: boolean
  prompts: string[]
  filter: Buffer | null
  texts: string
  blocks: number
}

/** The pg-boss queue of a key's shard jobs: a worker only ever takes jobs for the key it holds. */
export function queueName(keyId: string): string {
  return `tokenmark-shard-${keyId}`
}

/**
 * A job's payload. `route`: tokenize and PRF block `index` of `count` blocks of texts (or texts `from`..`to`), store each shard's
 * events; `reduce`: replay every block's events for shard `index` of `count`, store the part.
 */
export interface ShardJob {
  scanId: string
  phase: 'route' | 'reduce'
  index: number
  count: number
  /**
   * A route job of a streamed scan: texts `from` ≤ seq < `to` (block 0, routed last, holds no text and
   * excludes the prompts no text took); the number of blocks is known only once the corpus has been read.
   */
  from?: number
  to?: number
}
