/**
 * Crash safety: a child-process server ingests batches from concurrent clients and is killed with
 * SIGKILL mid-ingest. After a restart, every sample of every acknowledged batch is present exactly once,
 * each unacknowledged batch is present whole or not at all, the case's accumulator agrees with its
 * samples, and retrying the unacknowledged batches with the same idempotency keys duplicates nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { startChild, type Child } from './child.js'
import { freshPgUrl, plainText, testKey } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'tokenmark-crash-'))
const ADMIN = 'tmt_CrashTestAdm_' + 'c'.repeat(43)
const env = { TOKENMARK_MASTER_SECRET: 'd'.repeat(64), TOKENMARK_ADMIN_TOKEN: ADMIN, TOKENMARK_RATE_LIMIT: '0', TOKENMARK_LOG_LEVEL: 'warn' }
const children: Child[] = []
afterAll(() => {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

async function api(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  })
  return { status: res.status, json: await res.json() }
}

const BATCH = 20
const texts = Array.from({ length: 50 }, (_, i) => plainText(60 + (i % 7) * 10, 1000 + i))
const batchBody = (b: number) => ({
  samples: Array.from({ length: BATCH }, (_, i) => ({ text: texts[(b * BATCH + i) % texts.length] + ` batch ${b} item ${i}`, idempotencyKey: `b${b}-${i}`, source: { batch: b } })),
})

test('SIGKILL mid-ingest loses no acknowledged sample and duplicates nothing on retry', async () => {
  // The server-pg project runs this on PostgreSQL (a fresh schema), the default one on a SQLite file.
  const db = (await freshPgUrl()) ?? join(dir, 'crash.db')
  const first = await startChild(['--port', '0', '--db', db], env)
  children.push(first)
  const key = testKey(9)
  expect((await api(first.url, 'POST', '/v1/keys', { keyFile: key.toKeyFile() })).status).toBe(201)
  const caseId = (await api(first.url, 'POST', '/v1/cases', { name: 'crash', keyId: key.keyId })).json.id as string

  const acked = new Set<number>()
  const sent = new Set<number>()
  let next = 0
  let stop = false
  const worker = async () => {
    while (!stop) {
      const b = next++
      sent.add(b)
      try {
        const r = await api(first.url, 'POST', `/v1/cases/${caseId}/samples`, batchBody(b))
        if (r.status === 200 && r.json.accepted === BATCH) acked.add(b)
      } catch {
        return // connection reset by the kill
      }
    }
  }
  const workers = Array.from({ length: 4 }, worker)
  // Kill once a good number of batches is in, while requests are in flight.
  while (acked.size < 30) {
    if (first.proc.exitCode !== null) throw new Error(`server exited early\n${first.stderr()}`)
    await new Promise((r) => setTimeout(r, 10))
  }
  first.proc.kill('SIGKILL')
  stop = true
  await Promise.all(workers)
  expect((await first.exited).signal).toBe('SIGKILL')
  const unacked = [...sent].filter((b) => !acked.has(b))
  expect(unacked.length).toBeGreaterThan(0)

  const second = await startChild(['--port', '0', '--db', db], env)
  children.push(second)
  const all = async () => {
    const out: { idempotencyKey: string; tokens: number }[] = []
    let after = 0
    for (;;) {
      const r = (await api(second.url, 'GET', `/v1/cases/${caseId}/samples?after=${after}&limit=1000`)).json
      out.push(...r.samples)
      if (r.next === null) return out
      after = r.next
    }
  }
  const stored = await all()
  const keys = stored.map((x) => x.idempotencyKey)
  expect(new Set(keys).size).toBe(keys.length)
  for (const b of acked) for (let i = 0; i < BATCH; i++) expect(keys).toContain(`b${b}-${i}`)
  // batches are atomic: each unacknowledged batch is whole or absent
  for (const b of unacked) {
    const n = keys.filter((k) => k.startsWith(`b${b}-`)).length
    expect([0, BATCH]).toContain(n)
  }
  // the persisted accumulator agrees with the persisted samples
  const c = (await api(second.url, 'GET', `/v1/cases/${caseId}`)).json
  expect(c.samples).toBe(stored.length)
  expect(c.tokensTotal).toBe(stored.reduce((a, x) => a + x.tokens, 0))

  for (const b of unacked) expect((await api(second.url, 'POST', `/v1/cases/${caseId}/samples`, batchBody(b))).status).toBe(200)
  for (const b of acked) {
    const r = (await api(second.url, 'POST', `/v1/cases/${caseId}/samples`, batchBody(b))).json
    expect(r.accepted).toBe(0)
  }
  const final = await all()
  expect(final.length).toBe(sent.size * BATCH)
  expect(new Set(final.map((x) => x.idempotencyKey)).size).toBe(final.length)
  const c2 = (await api(second.url, 'GET', `/v1/cases/${caseId}`)).json
  expect(c2.samples).toBe(final.length)
  expect(c2.tokensTotal).toBe(final.reduce((a, x) => a + x.tokens, 0))

  // graceful shutdown on SIGTERM: exit code 0, database closed
  second.proc.kill('SIGTERM')
  expect(await second.exited).toEqual({ code: 0, signal: null })
})
