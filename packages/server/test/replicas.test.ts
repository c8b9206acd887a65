/**
 * Replicas on one PostgreSQL (issue 16 §1): two built server processes (dist/bin.js) share one database
 * and are driven over real HTTP. Concurrent ingest into one case with overlapping idempotency keys gives
 * exactly the union; SIGKILL of one replica mid-ingest loses no acknowledged sample; a token revoked on
 * one replica is refused by the other once the stated bound (ServerLimits.tokenRecheckMs, 5 s) has
 * passed; the case's result reads the same from either replica; a replica whose database connection
 * is cut reconnects. Runs in the server-pg project only.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startChild, type Child } from './child.js'
import { freshPgUrl, plainText, STORE_KIND, testKey } from './helpers.js'

const ADMIN = 'tmt_ReplicaTstAd_' + 'r'.repeat(43)
const env = { TOKENMARK_MASTER_SECRET: 'e'.repeat(64), TOKENMARK_ADMIN_TOKEN: ADMIN, TOKENMARK_RATE_LIMIT: '0', TOKENMARK_LOG_LEVEL: 'warn', TOKENMARK_DETECT_WORKERS: '0' }
/** The revocation bound the replicas run with: DEFAULT_LIMITS.tokenRecheckMs (app.ts). */
const RECHECK_MS = 5_000
const children: Child[] = []

async function api(base: string, method: string, path: string, body?: unknown, token = ADMIN): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  })
  return { status: res.status, json: res.status === 204 ? null : await res.json() }
}

async function allSamples(base: string, caseId: string): Promise<{ idempotencyKey: string; tokens: number }[]> {
  const out: { idempotencyKey: string; tokens: number }[] = []
  let after = 0
  for (;;) {
    const r = (await api(base, 'GET', `/v1/cases/${caseId}/samples?after=${after}&limit=1000`)).json
    out.push(...r.samples)
    if (r.next === null) return out
    after = r.next
  }
}

const BATCH = 10
const texts = Array.from({ length: 40 }, (_, i) => plainText(50 + (i % 5) * 10, 2000 + i))
const batchBody = (b: number) => ({
  samples: Array.from({ length: BATCH }, (_, i) => ({ text: texts[(b * BATCH + i) % texts.length] + ` batch ${b} item ${i}`, idempotencyKey: `b${b}-${i}` })),
})

describe.skipIf(STORE_KIND !== 'postgres')('replicas on one PostgreSQL', () => {
  let db: string | undefined
  let a: Child
  let b: Child
  let caseId: string

  beforeAll(async () => {
    db = await freshPgUrl()
    if (db === undefined) return
    // One after the other is not required (migrations and bootstrap take locks); together is the harder case.
    ;[a, b] = await Promise.all([startChild(['--port', '0', '--db', db], env), startChild(['--port', '0', '--db', db], env)])
    children.push(a, b)
    const key = testKey(21)
    expect((await api(a.url, 'POST', '/v1/keys', { keyFile: key.toKeyFile() })).status).toBe(201)
    caseId = (await api(b.url, 'POST', '/v1/cases', { name: 'replicas', keyId: key.keyId })).json.id as string
  })
  afterAll(() => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL')
  })

  test('concurrent ingest from both replicas with overlapping idempotency keys stores exactly the union', async () => {
    if (db === undefined) return
    // Every batch goes to both replicas at once; batches 0..11 from A, 6..17 from B (6..11 overlap).
    // A batch that keeps losing the race to the other replica is refused whole with 503 E_UNAVAILABLE
    // ("retry it", cases.ts); a client retries it, as the idempotency keys make safe.
    const send = async (base: string, n: number) => {
      for (let attempt = 0; ; attempt++) {
        const r = await api(base, 'POST', `/v1/cases/${caseId}/samples`, batchBody(n))
        if (r.status !== 503 || attempt >= 20) return r
        expect(r.json.error.code).toBe('E_UNAVAILABLE')
      }
    }
    const sends: Promise<{ status: number; json: any }>[] = []
    for (let i = 0; i < 12; i++) {
      sends.push(send(a.url, i))
      sends.push(send(b.url, i + 6))
    }
    const replies = await Promise.all(sends)
    for (const r of replies) expect(r.status).toBe(200)
    const accepted = replies.reduce((n, r) => n + (r.json.accepted as number), 0)
    const stored = await allSamples(a.url, caseId)
    const keys = stored.map((s) => s.idempotencyKey)
    expect(new Set(keys).size).toBe(keys.length)
    expect(keys.length).toBe(18 * BATCH)
    expect(accepted).toBe(18 * BATCH)
    for (let i = 0; i < 18; i++) for (let j = 0; j < BATCH; j++) expect(keys).toContain(`b${i}-${j}`)
    // the case's merged evidence is that of exactly these samples, read from either replica
    const ca = (await api(a.url, 'GET', `/v1/cases/${caseId}`)).json
    const cb = (await api(b.url, 'GET', `/v1/cases/${caseId}`)).json
    expect(ca.samples).toBe(keys.length)
    expect(ca.tokensTotal).toBe(stored.reduce((n, s) => n + s.tokens, 0))
    expect(cb).toEqual(ca)
    expect((await api(b.url, 'GET', `/v1/cases/${caseId}/result`)).json).toEqual((await api(a.url, 'GET', `/v1/cases/${caseId}/result`)).json)
  })

  test('a token revoked on one replica is refused by the other within the recheck bound', async () => {
    if (db === undefined) return
    const t = (await api(a.url, 'POST', '/v1/tokens', { name: 'partner', scopes: ['cases:read'] })).json
    // B has verified the token (and caches that it is live).
    expect((await api(b.url, 'GET', `/v1/cases/${caseId}`, undefined, t.token)).status).toBe(200)
    expect((await api(a.url, 'DELETE', `/v1/tokens/${t.id}`)).status).toBe(204)
    expect((await api(a.url, 'GET', `/v1/cases/${caseId}`, undefined, t.token)).status).toBe(401)
    await new Promise((r) => setTimeout(r, RECHECK_MS + 200))
    expect((await api(b.url, 'GET', `/v1/cases/${caseId}`, undefined, t.token)).status).toBe(401)
  })

  test('a replica whose connection is cut (pg_terminate_backend) reconnects: ready, and its next batch commits', async () => {
    if (db === undefined) return
    const c = new pg.Client({ connectionString: db })
    await c.connect()
    try {
      // Only this file's database: other test files' servers run in the same cluster.
      const r = await c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tokenmark-server' AND datname = current_database()")
      expect(r.rowCount).toBe(2)
    } finally {
      await c.end()
    }
    // The statement that first meets the cut connection fails (503, as a load balancer would see it);
    // the next one reconnects. Poll as a load balancer does (the bound is only a hang guard).
    for (const s of [a, b]) {
      let status = 0
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = (await api(s.url, 'GET', '/readyz')).status
        if (status !== 200) expect(status).toBe(503)
      }
      expect(status).toBe(200)
    }
    const before = (await api(b.url, 'GET', `/v1/cases/${caseId}`)).json.samples as number
    const r = await api(a.url, 'POST', `/v1/cases/${caseId}/samples`, batchBody(50))
    expect(r.status).toBe(200)
    expect((await api(b.url, 'GET', `/v1/cases/${caseId}`)).json.samples).toBe(before + r.json.accepted)
  })

  test('a read-only database: /readyz names the cause and writes answer 503 E_STORE_READONLY on every replica, until it is writable again', async () => {
    if (db === undefined) return
    const c = new pg.Client({ connectionString: db })
    await c.connect()
    const name = (await c.query('SELECT current_database() AS n')).rows[0].n as string
    // New sessions of this database start read-only (as on a hot standby); cutting the replicas'
    // connections makes them reconnect into such sessions.
    const cut = () => c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tokenmark-server' AND datname = current_database()")
    const poll = async (base: string, want: number) => {
      let r = { status: 0, json: null as any }
      for (let i = 0; i < 50 && r.status !== want; i++) r = await api(base, 'GET', '/readyz')
      return r
    }
    try {
      await c.query(`ALTER DATABASE "${name}" SET default_transaction_read_only = on`)
      await cut()
      for (const s of [a, b]) {
        let r = await poll(s.url, 503)
        if (r.json.reason === 'E_STORE_IO') r = await api(s.url, 'GET', '/readyz') // the statement that met the cut
        expect(r).toEqual({ status: 503, json: { status: 'unavailable', reason: 'E_STORE_READONLY' } })
        const w = await api(s.url, 'POST', `/v1/cases/${caseId}/samples`, batchBody(60))
        expect(w.status).toBe(503)
        expect(w.json.error.code).toBe('E_STORE_READONLY')
      }
    } finally {
      await c.query(`ALTER DATABASE "${name}" RESET default_transaction_read_only`)
      await cut()
      await c.end()
    }
    for (const s of [a, b]) expect((await poll(s.url, 200)).status).toBe(200)
  })

  test('SIGKILL of one replica mid-ingest loses no acknowledged sample; the survivor completes the rest', async () => {
    if (db === undefined) return
    const before = new Set((await allSamples(b.url, caseId)).map((s) => s.idempotencyKey))
    const acked = new Set<number>()
    const sent = new Set<number>()
    let next = 100
    let stop = false
    const worker = async () => {
      while (!stop) {
        const n = next++
        sent.add(n)
        try {
          const r = await api(a.url, 'POST', `/v1/cases/${caseId}/samples`, batchBody(n))
          if (r.status === 200 && r.json.accepted === BATCH) acked.add(n)
        } catch {
          return // connection reset by the kill
        }
      }
    }
    const workers = Array.from({ length: 3 }, worker)
    while (acked.size < 10) {
      if (a.proc.exitCode !== null) throw new Error(`replica exited early\n${a.stderr()}`)
      await new Promise((r) => setTimeout(r, 10))
    }
    a.proc.kill('SIGKILL')
    stop = true
    await Promise.all(workers)
    expect((await a.exited).signal).toBe('SIGKILL')
    const keys = (await allSamples(b.url, caseId)).map((s) => s.idempotencyKey)
    expect(new Set(keys).size).toBe(keys.length)
    for (const n of acked) for (let j = 0; j < BATCH; j++) expect(keys).toContain(`b${n}-${j}`)
    for (const n of sent) expect([0, BATCH]).toContain(keys.filter((k) => k.startsWith(`b${n}-`)).length)
    // the survivor takes every batch again; nothing is duplicated
    for (const n of sent) expect((await api(b.url, 'POST', `/v1/cases/${caseId}/samples`, batchBody(n))).status).toBe(200)
    const final = await allSamples(b.url, caseId)
    expect(final.length).toBe(before.size + sent.size * BATCH)
    const c = (await api(b.url, 'GET', `/v1/cases/${caseId}`)).json
    expect(c.samples).toBe(final.length)
    expect(c.tokensTotal).toBe(final.reduce((n, s) => n + s.tokens, 0))
  })
})
