/**
 * Issue 12, protocol and operations: the service under hostile clients and bad days. Socket-level items go
 * over a real socket (raw TCP where the point is what a misbehaving client sends); the rest use inject.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { buildServer } from '@tokenmark/server'
import { bearer, freshPgUrl, MASTER, plainText, testKey, testServer } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'tokenmark-protocol-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Opens a TCP connection, writes `head`, and collects what comes back until the server closes it (or `guardMs`). */
function rawExchange(port: number, head: string, opts: { trickle?: boolean; guardMs?: number } = {}): Promise<{ text: string; closedByServer: boolean; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now()
    const sock: Socket = connect(port, '127.0.0.1')
    let text = ''
    let timer: NodeJS.Timeout | undefined
    let trickle: NodeJS.Timeout | undefined
    const done = (closedByServer: boolean) => {
      clearTimeout(timer)
      clearInterval(trickle)
      sock.destroy()
      resolve({ text, closedByServer, ms: Date.now() - t0 })
    }
    sock.on('data', (d) => (text += d.toString('latin1')))
    sock.on('close', () => done(true))
    sock.on('error', () => {})
    sock.on('connect', () => {
      sock.write(head)
      // One byte every 200 ms, for ever: a slow-loris body.
      if (opts.trickle) trickle = setInterval(() => sock.writable && sock.write('x'), 200)
    })
    timer = setTimeout(() => done(false), opts.guardMs ?? 5_000)
  })
}

describe('slow clients and connections', () => {
  test('a body trickled byte by byte is cut off with 408 at the request timeout; without a token it is refused unread', async () => {
    const s = await testServer({ limits: { requestTimeoutMs: 600 } })
    await s.app.listen({ port: 0, host: '127.0.0.1' })
    const port = (s.app.server.address() as { port: number }).port
    try {
      const authed = rawExchange(port, `POST /v1/detect HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${s.admin}\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{`, { trickle: true })
      const anon = rawExchange(port, 'POST /v1/detect HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{', { trickle: true })
      const [a, b] = await Promise.all([authed, anon])
      expect(a.closedByServer, a.text).toBe(true)
      expect(a.text).toMatch(/^HTTP\/1\.1 408/)
      expect(a.text).toContain('"E_REQUEST_TIMEOUT"')
      expect(b.closedByServer, b.text).toBe(true)
      expect(b.text).toMatch(/^HTTP\/1\.1 401/)
      expect(b.text).toMatch(/connection: close/i)
      // Refused at once, not when the (never-ending) body would have been read.
      expect(b.ms).toBeLessThan(a.ms)
    } finally {
      await s.app.close()
    }
  })

  test('connections beyond maxConnections are refused at accept', async () => {
    const s = await testServer({ limits: { maxConnections: 4 } })
    await s.app.listen({ port: 0, host: '127.0.0.1' })
    const port = (s.app.server.address() as { port: number }).port
    try {
      const outcomes = await Promise.all(Array.from({ length: 10 }, () => rawExchange(port, '', { guardMs: 1500 })))
      expect(outcomes.filter((o) => o.closedByServer).length).toBe(6)
    } finally {
      await s.app.close()
    }
  })
})

describe('router and HTTP-parser errors use the one error format', () => {
  test('414 for an over-long id, 400 for bad %-encoding, 431 and 400 from the parser: code, request id, security headers', async () => {
    const s = await testServer()
    const h = bearer(s.admin)
    for (const [url, status, code] of [
      [`/v1/cases/${'a'.repeat(300)}`, 414, 'E_URI_TOO_LONG'],
      ['/v1/cases/%zz', 400, 'E_BAD_URL'],
      ['/v1/cases/%ff%fe', 400, 'E_BAD_URL'],
    ] as const) {
      const r = await s.app.inject({ method: 'GET', url, headers: h })
      expect(r.statusCode, url).toBe(status)
      expect(JSON.parse(r.body).error.code, url).toBe(code)
      expect(r.headers['x-request-id'], url).toMatch(/^[0-9a-f-]{36}$/)
      expect(r.headers['x-content-type-options'], url).toBe('nosniff')
    }
    await s.app.listen({ port: 0, host: '127.0.0.1' })
    const port = (s.app.server.address() as { port: number }).port
    try {
      const big = await rawExchange(port, `GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`)
      const bad = await rawExchange(port, 'GARBAGE\r\n\r\n')
      for (const [r, status, code] of [
        [big, 431, 'E_HEADERS_TOO_LARGE'],
        [bad, 400, 'E_BAD_REQUEST'],
      ] as const) {
        expect(r.text).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `))
        expect(r.text).toContain(`"code":"${code}"`)
        expect(r.text).toMatch(/x-request-id: [0-9a-f-]{36}/)
        expect(r.text).toMatch(/x-content-type-options: nosniff/i)
      }
    } finally {
      await s.app.close()
    }
  })
})

describe('bodies', () => {
  test('bodies that fail parsing or validation count against the rate limit, and deep JSON is refused before parsing', async () => {
    const s = await testServer({ rateLimit: { max: 3, windowMs: 60_000 } })
    const h = { ...bearer(s.admin), 'content-type': 'application/json' }
    const bad = ['{not json', JSON.stringify({ text: 5 }), '['.repeat(100_000) + ']'.repeat(100_000)]
    const first = await Promise.all(bad.map((payload) => s.app.inject({ method: 'POST', url: '/v1/detect', headers: h, payload })))
    expect(first.map((r) => r.statusCode)).toEqual([400, 400, 400])
    expect(JSON.parse(first[2].body).error.message).toMatch(/nested deeper than 32/)
    const after = await s.app.inject({ method: 'POST', url: '/v1/detect', headers: h, payload: JSON.stringify({ text: 'hello' }) })
    expect(after.statusCode).toBe(429)
    await s.app.close()
  })

  test('a sample source is bounded in depth and size (400, not 500) and hashed in canonical form', async () => {
    const s = await testServer({ limits: { jsonDepth: 10_000 } })
    const h = bearer(s.admin)
    const key = testKey(3)
    await s.app.inject({ method: 'POST', url: '/v1/keys', headers: h, payload: { keyFile: key.toKeyFile() } })
    const id = JSON.parse((await s.app.inject({ method: 'POST', url: '/v1/cases', headers: h, payload: { name: 'c', keyId: key.keyId } })).body).id as string
    const json = { ...h, 'content-type': 'application/json' }
    const post = (samples: unknown[]) => s.app.inject({ method: 'POST', url: `/v1/cases/${id}/samples`, headers: json, payload: JSON.stringify({ samples }) })
    const deep = '{"a":'.repeat(5000) + '{}' + '}'.repeat(5000)
    const r1 = await s.app.inject({ method: 'POST', url: `/v1/cases/${id}/samples`, headers: json, payload: `{"samples":[{"text":"one","source":${deep}}]}` })
    expect(r1.statusCode).toBe(400)
    expect(JSON.parse(r1.body).error.code).toBe('E_VALIDATION')
    const r2 = await post([{ text: 'one', source: { blob: 'x'.repeat(20_000) } }])
    expect(r2.statusCode).toBe(400)
    const a = await post([{ text: 'the same sample', idempotencyKey: 'k1', source: { site: 'api.example', at: '2026-11-01', tags: { b: 1, a: 2 } } }])
    expect(a.statusCode).toBe(200)
    const b = await post([{ text: 'the same sample', idempotencyKey: 'k1', source: { tags: { a: 2, b: 1 }, at: '2026-11-01', site: 'api.example' } }])
    expect(b.statusCode, b.body).toBe(200)
    expect(JSON.parse(b.body).samples[0].status).toBe('duplicate')
    await s.app.close()
  })
})

describe('tokens', () => {
  test('a token revoked through one instance stops working on another instance on the same database within tokenRecheckMs', async () => {
    const db = (await freshPgUrl()) ?? join(dir, 'two.db')
    const a = await testServer({ db, limits: { tokenRecheckMs: 200 } })
    const b = await buildServer({ db, masterSecret: MASTER, limits: { tokenRecheckMs: 200 } })
    try {
      const t = a.app.access.createToken(a.tenantId, 'reader', ['cases:read']).token
      expect((await b.inject({ method: 'GET', url: '/v1/cases', headers: bearer(t) })).statusCode).toBe(200)
      const id = t.split('_')[1]
      expect((await a.app.inject({ method: 'DELETE', url: `/v1/tokens/${id}`, headers: bearer(a.admin) })).statusCode).toBe(204)
      await new Promise((r) => setTimeout(r, 300))
      expect((await b.inject({ method: 'GET', url: '/v1/cases', headers: bearer(t) })).statusCode).toBe(401)
    } finally {
      await b.close()
      await a.app.close()
    }
  })

  test('a token revokes only tokens whose scopes it holds, and never the last tenants:admin holder', async () => {
    const s = await testServer()
    const tokAdmin = s.app.access.createToken(s.tenantId, 'token admin', ['tokens:admin'])
    const reader = s.app.access.createToken(s.tenantId, 'reader', ['cases:read'])
    const adminId = s.admin.split('_')[1]
    const del = (id: string, by: string) => s.app.inject({ method: 'DELETE', url: `/v1/tokens/${id}`, headers: bearer(by) })
    const r1 = await del(adminId, tokAdmin.token)
    expect(r1.statusCode).toBe(403)
    expect(JSON.parse(r1.body).error.message).toMatch(/tenants:admin/)
    expect((await del(reader.id, tokAdmin.token)).statusCode).toBe(403)
    const r2 = await del(adminId, s.admin)
    expect(r2.statusCode).toBe(409)
    expect((await s.app.inject({ method: 'GET', url: '/v1/tokens', headers: bearer(s.admin) })).statusCode).toBe(200)
    // With a second holder, the first may go.
    const second = JSON.parse((await s.app.inject({ method: 'POST', url: '/v1/tokens', headers: bearer(s.admin), payload: { name: 'second', scopes: ['tenants:admin', 'tokens:admin'] } })).body)
    expect((await del(adminId, second.token)).statusCode).toBe(403) // the admin holds scopes the second lacks
    expect((await del(second.id, s.admin)).statusCode).toBe(204)
    expect((await del(reader.id, s.admin)).statusCode).toBe(204)
    await s.app.close()
  })
})

describe('the database on a bad day', () => {
  test('read-only: /readyz says unavailable with the cause, and a write answers 503 E_STORE_READONLY', async () => {
    const s = await testServer({ db: join(dir, 'ro.db') })
    const h = bearer(s.admin)
    const key = testKey(5)
    await s.app.inject({ method: 'POST', url: '/v1/keys', headers: h, payload: { keyFile: key.toKeyFile() } })
    expect((await s.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200)
    s.app.store.db.pragma('query_only = 1')
    const ready = await s.app.inject({ method: 'GET', url: '/readyz' })
    expect(ready.statusCode).toBe(503)
    expect(JSON.parse(ready.body)).toEqual({ status: 'unavailable', reason: 'E_STORE_READONLY' })
    const w = await s.app.inject({ method: 'POST', url: '/v1/cases', headers: h, payload: { name: 'c', keyId: key.keyId } })
    expect(w.statusCode).toBe(503)
    expect(JSON.parse(w.body).error.code).toBe('E_STORE_READONLY')
    s.app.store.db.pragma('query_only = 0')
    expect((await s.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200)
    await s.app.close()
  })

  test('full: /readyz and writes answer 503 E_STORE_FULL', async () => {
    const s = await testServer({ db: join(dir, 'full.db') })
    const h = bearer(s.admin)
    const key = testKey(6)
    await s.app.inject({ method: 'POST', url: '/v1/keys', headers: h, payload: { keyFile: key.toKeyFile() } })
    const id = JSON.parse((await s.app.inject({ method: 'POST', url: '/v1/cases', headers: h, payload: { name: 'c', keyId: key.keyId } })).body).id as string
    const pages = Number(s.app.store.db.pragma('page_count', { simple: true }))
    s.app.store.db.pragma(`max_page_count = ${pages}`)
    const ready = await s.app.inject({ method: 'GET', url: '/readyz' })
    expect(JSON.parse(ready.body)).toEqual({ status: 'unavailable', reason: 'E_STORE_FULL' })
    const w = await s.app.inject({ method: 'POST', url: `/v1/cases/${id}/samples`, headers: h, payload: { samples: Array.from({ length: 40 }, (_, i) => ({ text: plainText(400, i) })) } })
    expect(w.statusCode).toBe(503)
    expect(JSON.parse(w.body).error.code).toBe('E_STORE_FULL')
    await s.app.close()
  })
})

test('/docs "Try it out" calls the server it is served from', async () => {
  const s = await testServer()
  const doc = JSON.parse((await s.app.inject({ method: 'GET', url: '/openapi.json' })).body) as { servers: { url: string }[] }
  expect(doc.servers.map((x) => x.url)).toEqual(['/'])
  await s.app.close()
})

test('a case states its limits: samples beyond caseSamples are 422 E_CASE_LIMIT, bytes beyond caseBytes 413 E_CASE_TOO_LARGE', async () => {
  const s = await testServer({ limits: { caseSamples: 5, caseBytes: 4000 } })
  const h = bearer(s.admin)
  const key = testKey(12)
  await s.app.inject({ method: 'POST', url: '/v1/keys', headers: h, payload: { keyFile: key.toKeyFile() } })
  const id = JSON.parse((await s.app.inject({ method: 'POST', url: '/v1/cases', headers: h, payload: { name: 'c', keyId: key.keyId } })).body).id as string
  const post = (samples: { text: string }[]) => s.app.inject({ method: 'POST', url: `/v1/cases/${id}/samples`, headers: h, payload: { samples } })
  expect((await post([{ text: plainText(20, 1) }, { text: plainText(20, 2) }, { text: plainText(20, 3) }])).statusCode).toBe(200)
  const many = await post([{ text: plainText(20, 4) }, { text: plainText(20, 5) }, { text: plainText(20, 6) }])
  expect(many.statusCode).toBe(422)
  expect(JSON.parse(many.body).error.code).toBe('E_CASE_LIMIT')
  const big = await post([{ text: 'word '.repeat(1000) }])
  expect(big.statusCode).toBe(413)
  expect(JSON.parse(big.body).error.code).toBe('E_CASE_TOO_LARGE')
  // Nothing of the refused batches was kept.
  expect(JSON.parse((await s.app.inject({ method: 'GET', url: `/v1/cases/${id}`, headers: h })).body).samples).toBe(3)
  await s.app.close()
})

test('case and bundle caches are bounded by bytes, not by a count of cases', async () => {
  const s = await testServer({ limits: { caseCacheBytes: 6_000, bundleCacheBytes: 30_000 } })
  const h = bearer(s.admin)
  const key = testKey(13)
  await s.app.inject({ method: 'POST', url: '/v1/keys', headers: h, payload: { keyFile: key.toKeyFile() } })
  for (let c = 0; c < 4; c++) {
    const id = JSON.parse((await s.app.inject({ method: 'POST', url: '/v1/cases', headers: h, payload: { name: `c${c}`, keyId: key.keyId } })).body).id as string
    const samples = Array.from({ length: 6 }, (_, i) => ({ text: plainText(150, c * 10 + i) }))
    expect((await s.app.inject({ method: 'POST', url: `/v1/cases/${id}/samples`, headers: h, payload: { samples } })).statusCode).toBe(200)
    expect((await s.app.inject({ method: 'GET', url: `/v1/cases/${id}/bundle`, headers: h })).statusCode).toBe(200)
    const cases = s.app.cases.cached()
    const bundles = s.app.evidence.cached()
    // At most the budget, or the one most recent entry when it alone exceeds it.
    expect(cases.bytes <= 6_000 || cases.cases === 1).toBe(true)
    expect(bundles.bytes).toBeLessThanOrEqual(30_000)
  }
  expect(s.app.cases.cached().cases).toBeLessThan(4)
  expect(s.app.evidence.cached().bundles).toBeGreaterThanOrEqual(1)
  expect(s.app.evidence.cached().bundles).toBeLessThan(4)
  await s.app.close()
})
