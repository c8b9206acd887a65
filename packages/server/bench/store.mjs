// `pnpm bench store`: batched ingest into one case through the built server (dist/bin.js, real HTTP),
// on the SQLite store (a file, synchronous=FULL) and on the PostgreSQL store (a throw-away cluster from
// scripts/pg-cluster.mjs with fsync and synchronous commit on, so both acknowledge only durable
// writes), side by side in one run, rounds alternating; prints PostgreSQL/SQLite (goal ≥ 0.5×, issue 16).
// TOKENMARK_BENCH_PG=postgres://… uses an existing server instead (the URL names an admin database).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { getTokenizer, keyFromSecret, seededRng } from '../../core/dist/index.js'
import { fmt, printTable, row } from '../../../bench/lib.mjs'
import { startCluster, stopCluster } from '../../../scripts/pg-cluster.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const ADMIN = 'tmt_BenchStore01_' + 's'.repeat(43)
const BATCH = 100
const BATCHES = Number(process.env.BENCH_STORE_BATCHES ?? 30)
const CONCURRENCY = 4
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

function start(db) {
  const proc = spawn(process.execPath, [resolve(here, '../dist/bin.js'), '--port', '0', '--db', db], {
    env: { ...process.env, TOKENMARK_MASTER_SECRET: 'f'.repeat(64), TOKENMARK_ADMIN_TOKEN: ADMIN, TOKENMARK_RATE_LIMIT: '0', TOKENMARK_LOG_LEVEL: 'warn', TOKENMARK_DETECT_WORKERS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  proc.stderr.on('data', (d) => (err += d))
  return new Promise((res, rej) => {
    proc.stdout.on('data', (d) => {
      out += d
      const m = /\{"listening":"([^"]+)"\}/.exec(out)
      if (m) res({ proc, url: m[1] })
    })
    proc.on('exit', (code) => rej(new Error(`server exited ${code}: ${err}`)))
  })
}

/** Short texts (about 40 tokens): the store's share of a batch's cost is largest when scoring is cheap. */
function texts(n, seed) {
  const tk = getTokenizer('o200k_base')
  const rng = seededRng(seed)
  return Array.from({ length: n }, () => tk.decode(Array.from({ length: 40 }, () => 1000 + (rng.nextU32() % 20000))))
}

/** Samples per second of BATCHES batches of BATCH samples into a new case, CONCURRENCY requests in flight. */
async function ingest(url, keyId, pool, round) {
  const h = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }
  const c = await fetch(`${url}/v1/cases`, { method: 'POST', headers: h, body: JSON.stringify({ name: `bench ${round}`, keyId }) })
  const caseId = (await c.json()).id
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let b = next++; b < BATCHES; b = next++) {
        const samples = Array.from({ length: BATCH }, (_, i) => ({ text: pool[(b * BATCH + i) % pool.length] + ` r${round}b${b}i${i}`, idempotencyKey: `r${round}-${b}-${i}` }))
        const r = await fetch(`${url}/v1/cases/${caseId}/samples`, { method: 'POST', headers: h, body: JSON.stringify({ samples }) })
        if (r.status !== 200) throw new Error(`ingest: ${r.status} ${await r.text()}`)
        await r.arrayBuffer()
      }
    }),
  )
  return (BATCHES * BATCH) / ((performance.now() - t0) / 1000)
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]

export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'tokenmark-bench-store-'))
  const cluster = process.env.TOKENMARK_BENCH_PG ? undefined : await startCluster({ durable: true })
  const admin = process.env.TOKENMARK_BENCH_PG ?? cluster.url
  const servers = []
  try {
    const c = new pg.Client({ connectionString: admin })
    await c.connect()
    const name = `tm_bench_${process.pid}`
    await c.query(`CREATE DATABASE ${name}`)
    await c.end()
    const pgUrl = new URL(admin)
    pgUrl.pathname = `/${name}`
    const sqlite = await start(join(dir, 'bench.db'))
    servers.push(sqlite)
    const postgres = await start(pgUrl.toString())
    servers.push(postgres)
    const key = keyFromSecret(Uint8Array.from({ length: 32 }, (_, i) => i + 5), { scheme: 'kgw' })
    for (const s of servers) {
      const r = await fetch(`${s.url}/v1/keys`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ keyFile: key.toKeyFile() }) })
      if (r.status !== 201) throw new Error(`key import: ${r.status}`)
    }
    const pool = texts(500, 7)
    await ingest(sqlite.url, key.keyId, pool, -1) // warm-up: tokenizer, JIT, worker
    await ingest(postgres.url, key.keyId, pool, -1)
    const a = []
    const b = []
    for (let r = 0; r < ROUNDS; r++) {
      a.push(await ingest(sqlite.url, key.keyId, pool, r))
      b.push(await ingest(postgres.url, key.keyId, pool, r))
    }
    const ratio = median(b) / median(a)
    printTable(`server store: batched ingest (${BATCHES} batches × ${BATCH} samples of ~40 tokens, ${CONCURRENCY} in flight, median of ${ROUNDS})`, [
      row('SQLite store (file, synchronous=FULL), samples/s', fmt(median(a))),
      row('PostgreSQL store (loopback, fsync + synchronous_commit on), samples/s', fmt(median(b))),
      row('PostgreSQL / SQLite', `${fmt(ratio)}×`, '≥ 0.5×', ratio >= 0.5),
      row('/v1/detect', 'no store call per request with keyId (keys and tokens are cached in memory; tokens re-read every tokenRecheckMs)', 'unaffected'),
    ])
  } finally {
    for (const s of servers) s.proc.kill('SIGKILL')
    if (cluster) stopCluster(cluster.dir)
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await run()
