/**
 * Issue 12: no request holds the event loop or another tenant's work. The BUILT server (its pool loads
 * dist/detect-worker.js) over real HTTP, with real keys, tokenizer and SQLite. Nothing here times the
 * server: the claims are orderings (which reply came first) and counts (how many health checks were
 * answered while a heavy request was in progress), so they hold on a slow or busy machine too.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { detect, keyFromSecret } from '@tokenmark/core'
import { afterAll, describe, expect, test } from 'vitest'
import { bootstrap, buildServer } from '../dist/index.js'
import { freshPgUrl, MASTER, plainText, testKey, watermarkedText } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'tokenmark-offloop-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Key number `i` of a large ring (distinct secrets for any i < 65536). */
function ringKey(i: number) {
  return keyFromSecret(Uint8Array.from({ length: 32 }, (_, j) => (j === 0 ? i & 255 : j === 1 ? i >> 8 : (i * 29 + j * 53 + 7) & 255)), { scheme: 'kgw' })
}

async function start(opts: Parameters<typeof buildServer>[0]) {
  const app = await buildServer({ masterSecret: MASTER, rateLimit: false, db: (await freshPgUrl()) ?? ':memory:', ...opts })
  const boot = bootstrap(app, {})!
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const tenant = async (name: string, seeds: number[]) => {
    const t = app.access.createTenant(name)
    const token = app.access.createToken(t.id, 'all', ['detect', 'cases:read', 'cases:write']).token
    for (const s of seeds) app.keyStore.importKeyFile(t.id, (s >= 1000 ? ringKey(s) : testKey(s)).toKeyFile())
    return { id: t.id, h: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }
  }
  return { app, url, admin: boot.adminToken!, tenant }
}

/** Polls GET /healthz every `everyMs` until `until` settles; how many were sent and answered before it did. */
async function healthDuring(url: string, until: Promise<unknown>, everyMs = 15): Promise<{ sent: number; answeredBefore: number }> {
  let settled = false
  let sent = 0
  let answeredBefore = 0
  void until.finally(() => (settled = true))
  const inflight: Promise<unknown>[] = []
  while (!settled) {
    sent++
    inflight.push(fetch(`${url}/healthz`).then((r) => r.text().then(() => (settled ? undefined : answeredBefore++))))
    await Promise.race([new Promise((r) => setTimeout(r, everyMs)), until.catch(() => undefined)])
  }
  await Promise.allSettled(inflight)
  return { sent, answeredBefore }
}

describe('the work pool keeps the event loop and other tenants free', () => {
  test('one tenant’s batch against a 300-key ring does not hold another tenant’s detection behind it', async () => {
    // The light request (~1 KB) is within this inline bound (above the default, which sends it to the pool too).
    const s = await start({ detectWorkers: 1, limits: { inlineDetectWork: 8 * 1024 } })
    try {
      const ring = Array.from({ length: 300 }, (_, i) => 1000 + i)
      const a = await s.tenant('heavy', ring)
      const b = await s.tenant('light', [7])
      const heavyTexts = Array.from({ length: 16 }, (_, i) => plainText(40, i))
      const order: string[] = []
      const heavy = fetch(`${s.url}/v1/detect`, { method: 'POST', headers: a.h, body: JSON.stringify({ texts: heavyTexts }) }).then(async (r) => {
        order.push('heavy')
        return { status: r.status, body: (await r.json()) as { results: { keysTested: number }[] } }
      })
      // Once the heavy request's tasks are running, the light one arrives.
      while (s.app.detector.stats().tasks.detect === 0) await new Promise((r) => setTimeout(r, 5))
      const light = await fetch(`${s.url}/v1/detect`, { method: 'POST', headers: b.h, body: JSON.stringify({ text: watermarkedText(testKey(7), 150, 3) }) })
      order.push('light')
      expect(light.status).toBe(200)
      // The light request was within the inline bound: answered on the event loop, not queued behind the heavy one.
      expect(s.app.detector.stats().inline).toBe(1)
      expect(((await light.json()) as { detected: boolean }).detected).toBe(true)
      const h = await heavy
      expect(order).toEqual(['light', 'heavy'])
      expect(h.status).toBe(200)
      expect(h.body.results).toHaveLength(16)
      expect(h.body.results[0].keysTested).toBe(300)
    } finally {
      await s.app.close()
    }
  })

  test('a request past its time budget answers 503 E_TIMEOUT and its worker is abandoned; the next request is served', async () => {
    const s = await start({ detectWorkers: 1, limits: { workTimeoutMs: 300 } })
    try {
      const a = await s.tenant('heavy', Array.from({ length: 60 }, (_, i) => 2000 + i))
      const r = await fetch(`${s.url}/v1/detect`, { method: 'POST', headers: a.h, body: JSON.stringify({ texts: Array.from({ length: 64 }, (_, i) => plainText(250, i)) }) })
      expect(r.status).toBe(503)
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('E_TIMEOUT')
      const st = s.app.detector.stats()
      expect(st.abandoned).toBeGreaterThanOrEqual(1)
      expect(st.queued).toBe(0)
      // The replacement worker serves the next task (given the budget a cold worker needs to load its tokenizer).
      const text = plainText(80, 9)
      const body = await s.app.detector.run([{ ref: 'x\0k', key: testKey(8) }], [text], {}, false, 'other', Date.now() + 120_000)
      expect(JSON.parse(body).pValue).toBe(detect({ text, keys: [testKey(8)] }).pValue)
    } finally {
      await s.app.close()
    }
  })

  test('case samples are scored and bundles built off the event loop: /healthz is answered throughout', async () => {
    const s = await start({ db: (await freshPgUrl()) ?? join(dir, 'cases.db'), detectWorkers: 1 })
    try {
      const a = await s.tenant('investigator', [11])
      const key = testKey(11)
      const c = (await (await fetch(`${s.url}/v1/cases`, { method: 'POST', headers: a.h, body: JSON.stringify({ name: 'big', keyId: key.keyId }) })).json()) as { id: string }
      const marked = Array.from({ length: 4 }, (_, i) => watermarkedText(key, 150, i))
      const samples = Array.from({ length: 600 }, (_, i) => ({ text: i % 10 === 0 ? `${marked[(i / 10) % 4]} ${i}` : plainText(300, i), prompt: `prompt ${i}` }))
      const add = fetch(`${s.url}/v1/cases/${c.id}/samples`, { method: 'POST', headers: a.h, body: JSON.stringify({ samples }) }).then(async (r) => ({ status: r.status, body: (await r.json()) as { accepted: number } }))
      const during = await healthDuring(s.url, add)
      const added = await add
      expect(added.status).toBe(200)
      expect(added.body.accepted).toBe(600)
      expect(s.app.detector.stats().tasks.score).toBeGreaterThan(1)
      expect(during.sent).toBeGreaterThanOrEqual(5)
      expect(during.answeredBefore / during.sent).toBeGreaterThanOrEqual(0.8)

      const bundle = fetch(`${s.url}/v1/cases/${c.id}/bundle`, { headers: a.h }).then(async (r) => ({ status: r.status, bytes: (await r.arrayBuffer()).byteLength }))
      const during2 = await healthDuring(s.url, bundle)
      expect((await bundle).status).toBe(200)
      expect(s.app.detector.stats().tasks.bundle).toBe(1)
      expect(during2.answeredBefore).toBeGreaterThanOrEqual(Math.floor(0.8 * during2.sent))
      // The report renders from the same (cached) bundle, on the pool as well.
      const report = await fetch(`${s.url}/v1/cases/${c.id}/report`, { headers: { ...a.h, accept: 'text/markdown' } })
      expect(report.status).toBe(200)
      expect(await report.text()).toMatch(/^# /)
      expect(s.app.detector.stats().tasks.bundle).toBe(2)
    } finally {
      await s.app.close()
    }
  })
})
