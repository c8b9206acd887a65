/**
 * The worker thread behind PgStore (store-pg.ts): it owns the one PostgreSQL connection and runs each
 * statement the main thread hands it, then wakes the main thread (which waits with Atomics.wait and
 * reads the answer with receiveMessageOnPort). See store-pg.ts for why the store is synchronous.
 */
import { workerData, type MessagePort } from 'node:worker_threads'
import pg from 'pg'

interface Init {
  url: string
  port: MessagePort
  signal: SharedArrayBuffer
}
interface Request {
  sql: string
  params: unknown[]
  close?: boolean
}

const { url, port, signal } = workerData as Init
const flag = new Int32Array(signal)

function reply(msg: unknown): void {
  port.postMessage(msg)
  Atomics.store(flag, 0, 1)
  Atomics.notify(flag, 0)
}
function failure(e: unknown): { error: { message: string; code?: string } } {
  const err = e as { message?: string; code?: string }
  // Only the message and SQLSTATE cross over: a driver error's `detail` can quote row values.
  return { error: { message: String(err.message ?? e), ...(typeof err.code === 'string' ? { code: err.code } : {}) } }
}

// BIGINT counts (count(*), sum) come back as numbers: every count this store keeps is far below 2^53.
pg.types.setTypeParser(20, (v: string) => Number(v))

/**
 * The connection, replaced when it breaks (server restart, failover, an idle connection cut by a proxy).
 * A connection lost inside a transaction fails every statement until the main thread's ROLLBACK: a
 * transaction's later statements must never run, and commit, on a new connection without its earlier ones.
 */
let client: pg.Client
let broken = false
let inTx = false
function connect(): Promise<void> {
  // statement_timeout: PostgreSQL cancels a statement (57014, a 503 E_STORE_BUSY) before the main thread's hang guard (60 s).
  const c = new pg.Client({ connectionString: url, application_name: 'tokenmark-server', statement_timeout: 30_000, connectionTimeoutMillis: 10_000 })
  client = c
  broken = false
  // A dropped connection: the next statement reconnects (or fails, inside a transaction).
  c.on('error', () => {
    if (client === c) broken = true
  })
  c.on('end', () => {
    if (client === c) broken = true
  })
  return c.connect().then(() => undefined)
}
connect().then(
  () => reply({ ok: true }),
  (e: unknown) => reply(failure(e)),
)

async function query(req: Request): Promise<{ rows: unknown[]; rowCount: number }> {
  const sql = req.sql
  if (broken) {
    if (inTx) {
      if (sql === 'ROLLBACK') {
        inTx = false
        return { rows: [], rowCount: 0 }
      }
      throw Object.assign(new Error('the database connection was lost inside a transaction; it was rolled back'), { code: '08006' })
    }
    await client.end().catch(() => undefined)
    try {
      await connect()
    } catch (e) {
      broken = true // still down: try again on the next statement
      throw e
    }
  }
  // Structured cloning turned the main thread's Buffers into Uint8Arrays; BYTEA parameters want Buffers.
  const values = req.params.map((v) => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v))
  // A transaction opens with "BEGIN; …" (store-pg.ts), and the main thread sends ROLLBACK whenever
  // anything in it fails, the BEGIN statement included.
  if (sql === 'COMMIT' || sql === 'ROLLBACK') inTx = false
  else if (sql.startsWith('BEGIN')) inTx = true
  const r = await client.query({ text: sql, values })
  // Several statements in one string answer an array of results; only single statements' rows are read.
  return Array.isArray(r) ? { rows: [], rowCount: 0 } : { rows: r.rows, rowCount: r.rowCount ?? 0 }
}

port.on('message', (req: Request) => {
  if (req.close) {
    void client.end().finally(() => {
      reply({ ok: true })
      port.close()
    })
    return
  }
  query(req).then(reply, (e: unknown) => reply(failure(e)))
})
