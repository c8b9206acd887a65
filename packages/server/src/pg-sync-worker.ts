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

const client = new pg.Client({ connectionString: url, application_name: 'tokenmark-server' })
client.on('error', () => {
  // A dropped connection fails the next statement (answered as an error); nothing to do here.
})
client.connect().then(
  () => reply({ ok: true }),
  (e: unknown) => reply(failure(e)),
)

port.on('message', (req: Request) => {
  if (req.close) {
    void client.end().finally(() => {
      reply({ ok: true })
      port.close()
    })
    return
  }
  // Structured cloning turned the main thread's Buffers into Uint8Arrays; BYTEA parameters want Buffers.
  const values = req.params.map((v) => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v))
  client.query({ text: req.sql, values }).then(
    (r) => reply({ rows: r.rows, rowCount: r.rowCount ?? 0 }),
    (e: unknown) => reply(failure(e)),
  )
})
