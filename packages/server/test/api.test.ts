import { CorpusScanner, detect, fromBase64Url, generateKey, type WatermarkKey } from '@tokenmark/core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { bearer, plainText, testKey, testServer, watermarkedText, type TestServer } from './helpers.js'

let s: TestServer
let key: WatermarkKey
let wm: string
const responses: string[] = []
const tokens: string[] = []

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, token?: string, body?: unknown) {
  const res = await s.app.inject({ method, url, headers: token ? bearer(token) : {}, ...(body !== undefined ? { payload: body as Record<string, unknown> } : {}) })
  responses.push(res.body)
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, any>) : {}, headers: res.headers }
}

beforeAll(async () => {
  s = await testServer()
  tokens.push(s.admin)
  key = testKey(1)
  wm = watermarkedText(key, 200, 7)
  const r = await call('POST', '/v1/keys', s.admin, { keyFile: key.toKeyFile(), name: 'provider key 1' })
  expect(r.status).toBe(201)
})
afterAll(async () => {
  await s.app.close()
})

describe('health and documents', () => {
  test('healthz and readyz answer without a token', async () => {
    expect((await call('GET', '/healthz')).body).toEqual({ status: 'ok' })
    expect((await call('GET', '/readyz')).body).toEqual({ status: 'ready' })
  })
  test('openapi.json lists every /v1 route with bearer security', async () => {
    const doc = (await call('GET', '/openapi.json')).body
    expect(doc.openapi).toBe('3.1.0')
    for (const p of ['/v1/detect', '/v1/cases', '/v1/cases/{id}', '/v1/cases/{id}/samples', '/v1/cases/{id}/result', '/v1/keys', '/v1/tokens']) {
      expect(doc.paths[p], p).toBeDefined()
    }
    expect(doc.components.securitySchemes.bearerAuth.scheme).toBe('bearer')
  })
  test('the interactive docs page is served', async () => {
    const res = await s.app.inject({ method: 'GET', url: '/docs/' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/text\/html/)
  })
  test('security headers are set, CORS is off and every reply carries a request id', async () => {
    const r = await call('GET', '/healthz')
    expect(r.headers['x-content-type-options']).toBe('nosniff')
    expect(r.headers['strict-transport-security']).toBeDefined()
    expect(r.headers['content-security-policy']).toBeDefined()
    expect(r.headers['access-control-allow-origin']).toBeUndefined()
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
  })
  test('the access log has one line per request, when it completes, naming method, URL, status and request id', async () => {
    const before = s.logs.lines.length
    const r = await call('GET', '/v1/keys?probe=access-log', s.admin)
    const denied = await call('GET', '/v1/keys?probe=access-log-401')
    expect(r.status).toBe(200)
    expect(denied.status).toBe(401)
    const lines = s.logs.lines.slice(before).map((l) => JSON.parse(l) as Record<string, any>)
    const about = (id: unknown) => lines.filter((l) => l.reqId === id)
    const ok = about(r.headers['x-request-id'])
    expect(ok.map((l) => l.msg)).toEqual(['request completed'])
    expect(ok[0].req).toMatchObject({ method: 'GET', url: '/v1/keys?probe=access-log' })
    expect(ok[0].res).toEqual({ statusCode: 200 })
    expect(ok[0].responseTime).toBeGreaterThan(0)
    // a rejected request: the reason, then its access line; never an "incoming request" line
    expect(about(denied.headers['x-request-id']).map((l) => l.msg)).toEqual(['request rejected', 'request completed'])
    expect(lines.some((l) => l.msg === 'incoming request')).toBe(false)
  })
  test('an unknown route is a 404 in the error format', async () => {
    const r = await call('GET', '/v1/nothing', s.admin)
    expect(r.status).toBe(404)
    expect(r.body.error.code).toBe('E_NOT_FOUND')
  })
})

describe('authentication and scopes', () => {
  test.each([
    ['missing', undefined],
    ['malformed', 'not-a-token'],
    ['well-formed but unknown', 'tmt_AAAAAAAAAAAA_' + 'A'.repeat(43)],
  ])('a %s token gets 401 on every /v1 route', async (_name, token) => {
    for (const [m, u] of [
      ['POST', '/v1/detect'],
      ['GET', '/v1/cases'],
      ['POST', '/v1/cases'],
      ['GET', '/v1/cases/x'],
      ['POST', '/v1/cases/x/samples'],
      ['GET', '/v1/cases/x/result'],
      ['POST', '/v1/keys'],
      ['GET', '/v1/keys'],
      ['POST', '/v1/tokens'],
    ] as const) {
      const r = await call(m, u, token, m === 'POST' ? {} : undefined)
      expect(r.status, `${m} ${u}`).toBe(401)
      expect(r.body.error.code).toBe('E_UNAUTHORIZED')
    }
  })
  test('a right id with a wrong secret gets 401', async () => {
    const wrong = s.admin.slice(0, -3) + (s.admin.endsWith('AAA') ? 'BBB' : 'AAA')
    expect((await call('GET', '/v1/keys', wrong)).status).toBe(401)
  })
  test('a token without the route’s scope gets 403 naming the scope', async () => {
    const t = (await call('POST', '/v1/tokens', s.admin, { name: 'reader', scopes: ['cases:read'] })).body
    tokens.push(t.token)
    for (const [m, u, scope] of [
      ['POST', '/v1/detect', 'detect'],
      ['POST', '/v1/cases', 'cases:write'],
      ['POST', '/v1/keys', 'keys:admin'],
      ['POST', '/v1/tokens', 'tokens:admin'],
      ['POST', '/v1/tenants', 'tenants:admin'],
    ] as const) {
      const r = await call(m, u, t.token, {})
      expect(r.status, u).toBe(403)
      expect(r.body.error.message).toContain(scope)
    }
    expect((await call('GET', '/v1/cases', t.token)).status).toBe(200)
  })
  test('a token cannot grant scopes it lacks; a revoked token stops working', async () => {
    const limited = (await call('POST', '/v1/tokens', s.admin, { name: 'ops', scopes: ['tokens:admin', 'detect'] })).body
    tokens.push(limited.token)
    const r = await call('POST', '/v1/tokens', limited.token, { name: 'x', scopes: ['keys:admin'] })
    expect(r.status).toBe(403)
    expect(r.body.error.message).toContain('keys:admin')
    expect((await call('DELETE', `/v1/tokens/${limited.id}`, s.admin)).status).toBe(204)
    expect((await call('GET', '/v1/keys', limited.token)).status).toBe(401)
    expect((await call('DELETE', `/v1/tokens/${limited.id}`, s.admin)).status).toBe(404)
  })
  test('token listing never shows a token or its hash', async () => {
    const r = await call('GET', '/v1/tokens', s.admin)
    expect(r.status).toBe(200)
    for (const t of r.body.tokens) expect(Object.keys(t).sort()).toEqual(['createdAt', 'id', 'name', 'revoked', 'scopes', 'tenantId'])
  })
  test('unknown scopes and extra fields are 400 with the field named', async () => {
    const r = await call('POST', '/v1/tokens', s.admin, { name: 'x', scopes: ['root'] })
    expect(r.status).toBe(400)
    expect(r.body.error.message).toMatch(/scopes/)
  })
})

describe('keys', () => {
  test('generating a key returns its id and commitment, never a secret', async () => {
    const r = await call('POST', '/v1/keys', s.admin, { scheme: 'gumbel', name: 'g' })
    expect(r.status).toBe(201)
    expect(Object.keys(r.body).sort()).toEqual(['commitment', 'createdAt', 'keyId', 'name', 'origin', 'params', 'scheme', 'tokenizer'])
    expect(r.body.keyId).toMatch(/^tmk_[0-9a-f]{16}$/)
    expect(r.body.origin).toBe('generated')
    const got = await call('GET', `/v1/keys/${r.body.keyId}`, s.admin)
    expect(got.body.commitment).toBe(r.body.commitment)
  })
  test('importing the same key twice is a 409', async () => {
    const r = await call('POST', '/v1/keys', s.admin, { keyFile: key.toKeyFile() })
    expect(r.status).toBe(409)
  })
  test('a tampered key file, an unknown scheme, bad params and mixed fields are 400s', async () => {
    const tampered = key.toKeyFile().replace(/"commitment": "[0-9a-f]/, (m) => m.slice(0, -1) + (m.endsWith('0') ? '1' : '0'))
    const bad = [
      { keyFile: tampered },
      { keyFile: 'not json' },
      { scheme: 'nope' },
      { scheme: 'kgw', params: { gamma: 2 } },
      { scheme: 'kgw', tokenizer: 'no-such-tokenizer' },
      { scheme: 'kgw', keyFile: key.toKeyFile() },
      {},
    ]
    for (const b of bad) {
      const r = await call('POST', '/v1/keys', s.admin, b)
      expect(r.status, JSON.stringify(b).slice(0, 60)).toBe(400)
      expect(r.body.error.message.length).toBeGreaterThan(5)
    }
  })
  test('listing shows every key of the tenant', async () => {
    const r = await call('GET', '/v1/keys', s.admin)
    expect(r.body.keys.map((k: { keyId: string }) => k.keyId)).toContain(key.keyId)
  })
})

describe('detect', () => {
  test('detects a 200-token KGW text at p < 1e-6 with the fields of `tokenmark detect --json`', async () => {
    const r = await call('POST', '/v1/detect', s.admin, { text: wm, keyId: key.keyId })
    expect(r.status).toBe(200)
    expect(r.body.detected).toBe(true)
    expect(r.body.pValue).toBeLessThan(1e-6)
    const local = JSON.parse(JSON.stringify(detect({ text: wm, keys: key })))
    expect(r.body).toEqual(local)
  })
  test('unwatermarked text is not detected', async () => {
    const r = await call('POST', '/v1/detect', s.admin, { text: plainText(200, 3), keyId: key.keyId })
    expect(r.body.detected).toBe(false)
    expect(r.body.pValue).toBeGreaterThan(1e-3)
  })
  test('without keyId the whole ring is searched and the p-value corrected for it', async () => {
    const ring = await call('POST', '/v1/detect', s.admin, { text: wm })
    expect(ring.body.keysTested).toBe(2)
    expect(ring.body.keyId).toBe(key.keyId)
    expect(ring.body.keys).toHaveLength(2)
    const single = await call('POST', '/v1/detect', s.admin, { text: wm, keyId: key.keyId })
    expect(ring.body.log10P).toBeCloseTo(single.body.log10P + Math.log10(2), 8)
  })
  test('a batch returns one result per text, in order', async () => {
    const r = await call('POST', '/v1/detect', s.admin, { texts: [wm, plainText(100, 4)], keyId: key.keyId, window: true })
    expect(r.body.results).toHaveLength(2)
    expect(r.body.results[0].detected).toBe(true)
    expect(r.body.results[0].window.log10P).toBeLessThan(-6)
    expect(r.body.results[1].detected).toBe(false)
  })
  test('per-token marks need the detail scope', async () => {
    const t = (await call('POST', '/v1/tokens', s.admin, { name: 'partner', scopes: ['detect'] })).body
    tokens.push(t.token)
    const denied = await call('POST', '/v1/detect', t.token, { text: wm, keyId: key.keyId, marks: true })
    expect(denied.status).toBe(403)
    expect(denied.body.error.message).toContain('detail')
    const ok = await call('POST', '/v1/detect', t.token, { text: wm, keyId: key.keyId })
    expect(ok.status).toBe(200)
    expect(ok.body.marks).toBeUndefined()
    const detail = await call('POST', '/v1/detect', s.admin, { text: wm, keyId: key.keyId, marks: true })
    expect(detail.body.marks.length).toBe(detail.body.tokensTotal)
    expect(detail.body.marks[1]).toMatchObject({ reason: 'scored' })
  })
  test('bad bodies are 400s that name the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{ keyId: key.keyId }, /exactly one of/],
      [{ text: 'a', texts: ['b'] }, /exactly one of/],
      [{ text: 5 }, /text/],
      [{ text: 'a', alpha: 2 }, /alpha/],
      [{ text: 'a', extra: 1 }, /additional/],
      [{ texts: [] }, /texts/],
      [{ text: 'a', keyId: 'x', keyIds: ['y'] }, /keyId/],
      [[1, 2], /object/],
    ]
    for (const [b, re] of cases) {
      const r = await call('POST', '/v1/detect', s.admin, b)
      expect(r.status, JSON.stringify(b)).toBe(400)
      expect(r.body.error.code).toBe('E_VALIDATION')
      expect(r.body.error.message).toMatch(re)
    }
  })
  test('an unknown key is a 404', async () => {
    const r = await call('POST', '/v1/detect', s.admin, { text: 'x', keyId: 'tmk_0000000000000000' })
    expect(r.status).toBe(404)
  })
  test('malformed JSON is a 400, a non-JSON content type a 415, an empty JSON body a 400', async () => {
    const bad = await s.app.inject({ method: 'POST', url: '/v1/detect', headers: { ...bearer(s.admin), 'content-type': 'application/json' }, payload: '{"text": ' })
    expect(bad.statusCode).toBe(400)
    expect(JSON.parse(bad.body).error.code).toBe('E_VALIDATION')
    const plain = await s.app.inject({ method: 'POST', url: '/v1/detect', headers: { ...bearer(s.admin), 'content-type': 'text/plain' }, payload: 'hello' })
    expect(plain.statusCode).toBe(415)
    expect(JSON.parse(plain.body).error.code).toBe('E_UNSUPPORTED_MEDIA_TYPE')
    const empty = await s.app.inject({ method: 'POST', url: '/v1/detect', headers: { ...bearer(s.admin), 'content-type': 'application/json' }, payload: '' })
    expect(empty.statusCode).toBe(400)
    for (const r of [bad, plain, empty]) expect(r.body).not.toMatch(/ at .*\.(js|ts):\d+/)
  })
})

describe('cases', () => {
  let caseId: string
  test('creating a case returns id, name, samples, tokensScored and a result with pValue, log10P, eValue', async () => {
    const r = await call('POST', '/v1/cases', s.admin, { name: 'suspect-A', keyId: key.keyId, description: 'API of suspect A' })
    expect(r.status).toBe(201)
    caseId = r.body.id
    expect(r.body).toMatchObject({ name: 'suspect-A', samples: 0, tokensScored: 0, keyId: key.keyId })
    expect(r.body.result).toMatchObject({ pValue: 1, log10P: 0, eValue: 1 })
  })
  test('samples accumulate into the same result as core’s CorpusScanner over the same texts, whatever the order and batching', async () => {
    const scanner = new CorpusScanner(key)
    // sample 2's prompt repeats words of sample 0, so its exclusion must reach back into earlier evidence
    const texts = [0, 1, 2, 3].map((i) => ({ text: watermarkedText(key, 60, 100 + i), prompt: undefined as string | undefined }))
    texts[2].prompt = texts[0].text.split(' ').slice(0, 25).join(' ')
    const batches = [[0, 1], [2, 3]]
    for (const b of batches) {
      const samples = b.map((i) => ({ ...texts[i], idempotencyKey: `k${i}`, source: { account: `acct-${i}` } }))
      const r = await call('POST', `/v1/cases/${caseId}/samples`, s.admin, { samples })
      expect(r.status).toBe(200)
      expect(r.body.accepted).toBe(2)
    }
    for (const i of [3, 2, 1, 0]) scanner.add(texts[i].text, { prompt: texts[i].prompt })
    const want = scanner.result()
    const got = (await call('GET', `/v1/cases/${caseId}`, s.admin)).body
    expect(got.samples).toBe(4)
    expect(got.tokensScored).toBe(want.tokensScored)
    expect(got.result.log10P).toBeCloseTo(want.log10P, 10)
    expect(got.result.log10E).toBeCloseTo(want.log10E, 10)
    expect(want.tokensSkipped.excluded).toBeGreaterThan(0)
    expect(got.result.tokensSkipped.excluded).toBeGreaterThan(0)
    expect(got.result.detected).toBe(true)
    const res = (await call('GET', `/v1/cases/${caseId}/result`, s.admin)).body
    expect(res).toEqual(JSON.parse(JSON.stringify(want)))
    expect(res.eValue).toBeGreaterThan(1e6)
  })
  test('a retried batch is idempotent per sample key; the same key with other content is a 409', async () => {
    const batch = [
      { text: watermarkedText(key, 40, 200), idempotencyKey: 'b1' },
      { text: watermarkedText(key, 40, 201), idempotencyKey: 'b2' },
      { text: plainText(30, 202) },
    ]
    const first = await call('POST', `/v1/cases/${caseId}/samples`, s.admin, { samples: batch })
    expect(first.body).toMatchObject({ accepted: 3, duplicates: 0 })
    const before = first.body.case
    const again = await call('POST', `/v1/cases/${caseId}/samples`, s.admin, { samples: batch.slice(0, 2) })
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 2 })
    expect(again.body.samples.map((x: { id: string }) => x.id)).toEqual(first.body.samples.slice(0, 2).map((x: { id: string }) => x.id))
    expect(again.body.case.samples).toBe(before.samples)
    expect(again.body.case.tokensScored).toBe(before.tokensScored)
    const conflict = await call('POST', `/v1/cases/${caseId}/samples`, s.admin, { samples: [{ text: 'new', idempotencyKey: 'x-new' }, { text: 'different', idempotencyKey: 'b1' }] })
    expect(conflict.status).toBe(409)
    expect(conflict.body.error.message).toContain('samples/1')
    // the whole batch was rejected, including its first sample
    expect((await call('GET', `/v1/cases/${caseId}`, s.admin)).body.samples).toBe(before.samples)
    const list = (await call('GET', `/v1/cases/${caseId}/samples?limit=5`, s.admin)).body
    expect(list.samples).toHaveLength(5)
    expect(list.samples[0]).toMatchObject({ seq: 1, idempotencyKey: 'k0', source: { account: 'acct-0' } })
    const rest = (await call('GET', `/v1/cases/${caseId}/samples?after=${list.next}`, s.admin)).body
    expect(rest.samples.map((x: { seq: number }) => x.seq)).toEqual([6, 7])
    expect(rest.next).toBeNull()
  })
  test('duplicate keys inside one batch count once', async () => {
    const r = await call('POST', `/v1/cases/${caseId}/samples`, s.admin, { samples: [{ text: 'same', idempotencyKey: 'dup' }, { text: 'same', idempotencyKey: 'dup' }] })
    expect(r.body).toMatchObject({ accepted: 1, duplicates: 1 })
    expect(r.body.samples[0].id).toBe(r.body.samples[1].id)
  })
  test('listing pages through cases newest first', async () => {
    for (const n of ['b', 'c']) await call('POST', '/v1/cases', s.admin, { name: n, keyId: key.keyId })
    const p1 = (await call('GET', '/v1/cases?limit=2', s.admin)).body
    expect(p1.cases.map((c: { name: string }) => c.name)).toEqual(['c', 'b'])
    const p2 = (await call('GET', `/v1/cases?limit=2&cursor=${encodeURIComponent(p1.next)}`, s.admin)).body
    expect(p2.cases.map((c: { name: string }) => c.name)).toEqual(['suspect-A'])
    expect(p2.next).toBeNull()
  })
  test('bad case requests: unknown key 404, unknown case 404, bad batch 400', async () => {
    expect((await call('POST', '/v1/cases', s.admin, { name: 'x', keyId: 'tmk_0000000000000000' })).status).toBe(404)
    expect((await call('GET', '/v1/cases/case_nope', s.admin)).status).toBe(404)
    expect((await call('GET', '/v1/cases/case_nope/result', s.admin)).status).toBe(404)
    expect((await call('POST', '/v1/cases/case_nope/samples', s.admin, { samples: [{ text: 'a' }] })).status).toBe(404)
    for (const b of [{ samples: [] }, { samples: [{}] }, { samples: [{ text: 'a', idempotencyKey: '' }] }, { samples: 'x' }, { samples: [{ text: 'a', extra: 1 }] }]) {
      const r = await call('POST', `/v1/cases/${caseId}/samples`, s.admin, b)
      expect(r.status, JSON.stringify(b)).toBe(400)
      expect(r.body.error.message).toMatch(/samples/)
    }
    expect((await call('GET', '/v1/cases?limit=0', s.admin)).status).toBe(400)
    expect((await call('GET', '/v1/cases?cursor=zzz', s.admin)).status).toBe(400)
  })
  test('the case exposes its evidence to route plugins (key, merged accumulator, samples)', () => {
    const ev = s.app.cases.evidence(s.tenantId, caseId)
    expect(ev.key.keyId).toBe(key.keyId)
    expect(ev.accumulator.tokensScored).toBe(s.app.cases.get(s.tenantId, caseId).tokensScored)
    expect([...s.app.cases.allSamples(s.tenantId, caseId)].length).toBe(ev.samples)
  })
})

describe('tenant isolation', () => {
  test('tenant B cannot see, use or learn of A’s keys and cases (404, the same as for nothing)', async () => {
    const a = (await call('POST', '/v1/cases', s.admin, { name: 'secret-case', keyId: key.keyId })).body
    const t = await call('POST', '/v1/tenants', s.admin, { name: 'tenant-b' })
    expect(t.status).toBe(201)
    const b = t.body.adminToken.token as string
    tokens.push(b)
    expect(t.body.adminToken.scopes).not.toContain('tenants:admin')
    expect((await call('GET', '/v1/keys', b)).body.keys).toEqual([])
    expect((await call('GET', '/v1/cases', b)).body.cases).toEqual([])
    const theirs = await call('GET', `/v1/cases/${a.id}`, b)
    const nothing = await call('GET', '/v1/cases/case_doesnotexist', b)
    expect(theirs.status).toBe(404)
    expect(theirs.body.error.message.replace(a.id, 'ID')).toBe(nothing.body.error.message.replace('case_doesnotexist', 'ID'))
    expect((await call('GET', `/v1/cases/${a.id}/result`, b)).status).toBe(404)
    expect((await call('GET', `/v1/cases/${a.id}/samples`, b)).status).toBe(404)
    expect((await call('POST', `/v1/cases/${a.id}/samples`, b, { samples: [{ text: 'x' }] })).status).toBe(404)
    expect((await call('POST', '/v1/detect', b, { text: wm, keyId: key.keyId })).status).toBe(404)
    expect((await call('POST', '/v1/detect', b, { text: wm })).status).toBe(404)
    expect((await call('GET', `/v1/keys/${key.keyId}`, b)).status).toBe(404)
    expect((await call('POST', '/v1/cases', b, { name: 'x', keyId: key.keyId })).status).toBe(404)
    expect((await call('POST', '/v1/tenants', b, { name: 'c' })).status).toBe(403)
    // B may import the same key file into its own store: key ids are per tenant
    expect((await call('POST', '/v1/keys', b, { keyFile: key.toKeyFile() })).status).toBe(201)
    expect((await call('GET', `/v1/cases/${a.id}`, b)).status).toBe(404)
  })
})

describe('no secret in any response or log line', () => {
  test('key secrets, API tokens and the master secret appear nowhere', async () => {
    // one more key made server-side; its secret is only reachable through the key store
    const gen = (await call('POST', '/v1/keys', s.admin, { scheme: 'synthid' })).body
    const keySecrets: string[] = []
    for (const k of [key, s.app.keyStore.require(s.tenantId, gen.keyId), generateKey({ scheme: 'kgw' })]) {
      const secret = (JSON.parse(k.toKeyFile()) as { secret: string }).secret
      expect(fromBase64Url(secret)?.length).toBe(32)
      keySecrets.push(secret, Buffer.from(fromBase64Url(secret)!).toString('hex'))
    }
    const haystack = responses.join('\n') + '\n' + s.logs.text
    expect(s.logs.lines.length).toBeGreaterThan(50)
    for (const sec of keySecrets) {
      const at = haystack.indexOf(sec)
      expect(at, `key secret leaked: …${haystack.slice(Math.max(0, at - 200), at + 50)}`).toBe(-1)
    }
    // tokens appear in exactly the responses that created them
    for (const t of tokens) {
      expect(s.logs.text.includes(t) || s.logs.text.includes(t.slice(17)), 'token in log').toBe(false)
      expect(responses.filter((r) => r.includes(t)).length, 'token shown more than once').toBeLessThanOrEqual(1)
    }
    expect(haystack.includes('a'.repeat(64))).toBe(false)
  })
  test('the Authorization header is redacted when requests are logged with headers', async () => {
    s.app.log.info({ headers: { authorization: `Bearer ${s.admin}` } }, 'probe')
    expect(s.logs.text).toContain('[redacted]')
    expect(s.logs.text.includes(s.admin)).toBe(false)
  })
})
