/**
 * GET /v1/cases/:id/report, GET /v1/cases/:id/bundle and GET /v1/signing-key: formats by Accept, the
 * bundle verifies with the served public key and states exactly the case's result, access control,
 * and the signing key's secret never leaves the key store.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fromBase64Url, type WatermarkKey } from '@tokenmark/core'
import { EVIDENCE_MEDIA_TYPE, openBundle, parsePublicKey, publicKeyFile, verify } from '@tokenmark/evidence'
import { buildServer } from '@tokenmark/server'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { bearer, MASTER, plainText, testKey, testServer, watermarkedText, type TestServer } from './helpers.js'

let s: TestServer
let key: WatermarkKey
const responses: string[] = []

interface Reply {
  status: number
  headers: Record<string, string | string[] | number | undefined>
  text: string
  bytes: Buffer
  json: () => Record<string, any>
}

async function get(url: string, token?: string, accept?: string): Promise<Reply> {
  const res = await s.app.inject({ method: 'GET', url, headers: { ...(token ? bearer(token) : {}), ...(accept !== undefined ? { accept } : {}) } })
  responses.push(res.body)
  return { status: res.statusCode, headers: res.headers, text: res.body, bytes: res.rawPayload, json: () => JSON.parse(res.body) as Record<string, any> }
}

async function post(url: string, token: string, body: unknown): Promise<Record<string, any>> {
  const res = await s.app.inject({ method: 'POST', url, headers: bearer(token), payload: body as Record<string, unknown> })
  responses.push(res.body)
  if (res.statusCode >= 300) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
  return JSON.parse(res.body) as Record<string, any>
}

async function newCase(name: string, opts: { dedup?: boolean; normalize?: boolean } = {}): Promise<string> {
  return (await post('/v1/cases', s.admin, { name, keyId: key.keyId, ...opts })).id as string
}

/** Samples in three batches; the last batch's prompt repeats words of the first batch's texts. */
let texts: string[] | undefined
async function fillCase(id: string): Promise<void> {
  const wm = (texts ??= [0, 1, 2, 3, 4].map((i) => watermarkedText(key, 120, 40 + i)))
  await post(`/v1/cases/${id}/samples`, s.admin, { samples: [{ text: wm[0], prompt: 'Tell me about the sea.' }, { text: wm[1] }] })
  await post(`/v1/cases/${id}/samples`, s.admin, { samples: [{ text: wm[2], prompt: 'And the whale?' }, { text: plainText(80, 9), prompt: 'Something unmarked.' }] })
  await post(`/v1/cases/${id}/samples`, s.admin, { samples: [{ text: wm[3], prompt: wm[0].slice(0, 200) }, { text: wm[4], prompt: 'Tell me about the sea.' }] })
}

let caseId: string
beforeAll(async () => {
  s = await testServer()
  key = testKey(3)
  await post('/v1/keys', s.admin, { keyFile: key.toKeyFile(), name: 'provider key' })
  caseId = await newCase('Suspect API: student-1')
  await fillCase(caseId)
})
afterAll(async () => {
  await s.app.close()
})

describe('GET /v1/signing-key', () => {
  test('answers the tenant’s public key as a public key file that `tokenmark verify --public-key` reads, the same on every call', async () => {
    const a = await get('/v1/signing-key', s.admin)
    expect(a.status).toBe(200)
    const pk = parsePublicKey(a.text)
    expect(a.json()).toEqual(JSON.parse(publicKeyFile(pk)))
    expect(a.json().signerId).toBe(s.app.keyStore.signingKey(s.tenantId).signerId)
    expect((await get('/v1/signing-key', s.admin)).text).toBe(a.text)
  })

  test('needs a token; any scope of the tenant may read it; tenants have different signing keys', async () => {
    expect((await get('/v1/signing-key')).status).toBe(401)
    const detectOnly = (await post('/v1/tokens', s.admin, { name: 'detect only', scopes: ['detect'] })).token as string
    expect((await get('/v1/signing-key', detectOnly)).json()).toEqual((await get('/v1/signing-key', s.admin)).json())
    const other = (await post('/v1/tenants', s.admin, { name: 'tenant-b' })).adminToken.token as string
    expect((await get('/v1/signing-key', other)).json().publicKey).not.toBe((await get('/v1/signing-key', s.admin)).json().publicKey)
  })

  test('is generated once, stored sealed (no secret in the database file) and the same after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenmark-signing-'))
    try {
      const db = join(dir, 'tm.db')
      const first = await buildServer({ db, masterSecret: MASTER })
      const tenant = first.access.createTenant('t')
      const signer = first.keyStore.signingKey(tenant.id)
      const secret = JSON.parse(signer.toKeyFile()).secret as string
      const row = first.store.getSigningKey(tenant.id)!
      expect(row.signer_id).toBe(signer.signerId)
      const raw = Buffer.from(fromBase64Url(secret)!)
      expect(row.sealed.includes(raw)).toBe(false)
      expect(row.sealed.toString('latin1').includes(secret)).toBe(false)
      await first.close()
      const second = await buildServer({ db, masterSecret: MASTER })
      expect(second.keyStore.signingKey(tenant.id).signerId).toBe(signer.signerId)
      expect(JSON.parse(second.keyStore.signingKey(tenant.id).toKeyFile()).secret).toBe(secret)
      await second.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('GET /v1/cases/:id/report', () => {
  test('HTML by default and for text/html: a self-contained page that names the verdict and the bundle it renders', async () => {
    for (const accept of [undefined, 'text/html', '*/*', 'text/html;q=0.9, application/xhtml+xml']) {
      const r = await get(`/v1/cases/${caseId}/report`, s.admin, accept)
      expect(r.status, String(accept)).toBe(200)
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8')
      expect(r.headers.vary).toMatch(/accept/i)
      expect(r.text).toContain('class="verdict detected"')
      expect(r.text).toMatch(/id="verdict-sentence">[^<]*watermark/i)
      expect(r.text).toContain('Suspect API: student-1')
      expect(r.text).not.toMatch(/<script|src="http/i)
      expect(r.text).toContain(String(r.headers['x-tokenmark-bundle-sha256']))
    }
  })

  test('Markdown for text/markdown and the report model for application/json, with the case’s numbers', async () => {
    const md = await get(`/v1/cases/${caseId}/report`, s.admin, 'text/markdown')
    expect(md.status).toBe(200)
    expect(md.headers['content-type']).toBe('text/markdown; charset=utf-8')
    expect(md.text.startsWith('# Suspect API: student-1')).toBe(true)
    expect(md.text).toMatch(/## Verdict/)
    const js = await get(`/v1/cases/${caseId}/report`, s.admin, 'application/json')
    expect(js.status).toBe(200)
    expect(js.headers['content-type']).toMatch(/^application\/json/)
    const model = js.json()
    expect(model.title).toBe('Suspect API: student-1')
    const result = (await get(`/v1/cases/${caseId}/result`, s.admin)).json()
    expect(JSON.stringify(model)).toContain(String(result.tokensScored))
    // q-values decide; the most specific range wins
    expect((await get(`/v1/cases/${caseId}/report`, s.admin, 'text/*;q=0.5, application/json')).headers['content-type']).toMatch(/^application\/json/)
    expect((await get(`/v1/cases/${caseId}/report`, s.admin, 'text/*, text/html;q=0')).headers['content-type']).toMatch(/^text\/markdown/)
  })

  test('406 in the error format for a type it cannot produce', async () => {
    for (const accept of ['image/png', 'application/pdf', 'text/html;q=0', 'application/vnd.tokenmark.evidence+msgpack']) {
      const r = await get(`/v1/cases/${caseId}/report`, s.admin, accept)
      expect(r.status, accept).toBe(406)
      expect(r.json().error.code).toBe('E_NOT_ACCEPTABLE')
      expect(r.json().error.message).toMatch(/text\/html, text\/markdown, application\/json/)
    }
  })
})

describe('GET /v1/cases/:id/bundle', () => {
  test('a signed bundle that verifies with the public key from /v1/signing-key (and, with the watermark key, recomputes)', async () => {
    const r = await get(`/v1/cases/${caseId}/bundle`, s.admin, EVIDENCE_MEDIA_TYPE)
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toBe(EVIDENCE_MEDIA_TYPE)
    expect(r.headers['content-disposition']).toBe(`attachment; filename="${caseId}.tmev"`)
    const publicKey = parsePublicKey((await get('/v1/signing-key', s.admin)).text)
    const bytes = new Uint8Array(r.bytes)
    const v = verify(bytes, { publicKey, watermarkKey: key })
    expect(v.checks.filter((c) => c.status !== 'pass')).toEqual([])
    expect(v.valid).toBe(true)
    expect(v.bundleSha256).toBe(r.headers['x-tokenmark-bundle-sha256'])
    const body = openBundle(bytes).body
    expect(body.inputs.items).toHaveLength(6)
    expect(body.key.commitment).toBe(key.commitment)
    // one flipped byte anywhere fails
    for (const i of [5, Math.floor(bytes.length / 2), bytes.length - 3]) {
      const bad = Uint8Array.from(bytes)
      bad[i] ^= 0x01
      expect(verify(bad, { publicKey }).valid, `byte ${i}`).toBe(false)
    }
  })

  test('is the bundle the report rendered while the case is unchanged, and a new one after a batch', async () => {
    const report = await get(`/v1/cases/${caseId}/report`, s.admin, 'text/markdown')
    const a = await get(`/v1/cases/${caseId}/bundle`, s.admin)
    expect(a.headers['x-tokenmark-bundle-sha256']).toBe(report.headers['x-tokenmark-bundle-sha256'])
    const id = await newCase('growing')
    await post(`/v1/cases/${id}/samples`, s.admin, { samples: [{ text: watermarkedText(key, 60, 3) }] })
    const b1 = await get(`/v1/cases/${id}/bundle`, s.admin)
    await post(`/v1/cases/${id}/samples`, s.admin, { samples: [{ text: watermarkedText(key, 60, 4) }] })
    const b2 = await get(`/v1/cases/${id}/bundle`, s.admin)
    expect(b2.headers['x-tokenmark-bundle-sha256']).not.toBe(b1.headers['x-tokenmark-bundle-sha256'])
    expect(openBundle(new Uint8Array(b2.bytes)).body.inputs.items).toHaveLength(2)
  })

  test('406 when Accept excludes the bundle type', async () => {
    for (const accept of ['text/html', 'application/json', 'application/vnd.tokenmark.evidence+msgpack;q=0']) {
      const r = await get(`/v1/cases/${caseId}/bundle`, s.admin, accept)
      expect(r.status, accept).toBe(406)
      expect(r.json().error.code).toBe('E_NOT_ACCEPTABLE')
    }
    expect((await get(`/v1/cases/${caseId}/bundle`, s.admin, 'application/*')).status).toBe(200)
  })
})

describe('the bundle states exactly the case’s result', () => {
  test.each([
    ['defaults', {}],
    ['no de-duplication, no normalisation', { dedup: false, normalize: false }],
  ] as [string, { dedup?: boolean; normalize?: boolean }][])('%s: several batches with prompts, one prompt reaching back into earlier samples', async (_name, opts) => {
    const fresh = Object.keys(opts).length > 0
    const id = fresh ? await newCase(`agreement ${_name}`, opts) : caseId
    if (fresh) await fillCase(id)
    const result = (await get(`/v1/cases/${id}/result`, s.admin)).json()
    expect(result.tokensSkipped.excluded).toBeGreaterThan(0)
    const bytes = new Uint8Array((await get(`/v1/cases/${id}/bundle`, s.admin)).bytes)
    const { body } = openBundle(bytes)
    expect(body.method.dedup).toBe(opts.dedup ?? true)
    expect(body.method.normalize).toBe(opts.normalize ?? true)
    expect({ tokensScored: body.statistics.tokensScored, statistic: body.method.statistic, value: body.statistics.value, log10P: body.result.log10P, excluded: body.statistics.excluded }).toEqual({
      tokensScored: result.tokensScored,
      statistic: result.statistic,
      value: result.value,
      log10P: result.log10P,
      excluded: result.tokensSkipped.excluded,
    })
    expect(body.result.detected).toBe(result.detected)
    // and a verifier holding the watermark key recomputes the same numbers from the texts
    const v = verify(bytes, { publicKey: parsePublicKey((await get('/v1/signing-key', s.admin)).text), watermarkKey: key })
    expect(v.checks.find((c) => c.id === 'recompute')?.status).toBe('pass')
  })
})

describe('a bundle that disagrees with its case', () => {
  test('is refused with a 500 and a log line naming the difference, never signed and served', async () => {
    const id = await newCase('disagreeing')
    await post(`/v1/cases/${id}/samples`, s.admin, { samples: [{ text: watermarkedText(key, 60, 5) }] })
    const cases = s.app.cases
    const original = cases.get.bind(cases)
    cases.get = (tenantId, caseId) => {
      const info = original(tenantId, caseId)
      return { ...info, result: { ...info.result, log10P: info.result.log10P - 1 } }
    }
    try {
      const r = await get(`/v1/cases/${id}/bundle`, s.admin)
      expect(r.status).toBe(500)
      expect(r.json().error.code).toBe('E_INTERNAL')
      expect(s.logs.text).toMatch(/evidence bundle disagrees with its case result/)
      expect(s.logs.lines.find((l) => l.includes('disagrees'))).toContain('log10P')
    } finally {
      cases.get = original
    }
    expect((await get(`/v1/cases/${id}/bundle`, s.admin)).status).toBe(200)
  })
})

describe('access', () => {
  test('401 without a valid token, 403 without cases:read', async () => {
    const write = (await post('/v1/tokens', s.admin, { name: 'writer', scopes: ['cases:write', 'detect'] })).token as string
    for (const path of ['report', 'bundle']) {
      expect((await get(`/v1/cases/${caseId}/${path}`)).status).toBe(401)
      expect((await get(`/v1/cases/${caseId}/${path}`, 'tmt_AAAAAAAAAAAA_' + 'A'.repeat(43))).status).toBe(401)
      const r = await get(`/v1/cases/${caseId}/${path}`, write)
      expect(r.status).toBe(403)
      expect(r.json().error.code).toBe('E_FORBIDDEN')
    }
  })

  test('404 for a case of another tenant, exactly as for one that does not exist; 409 for an empty case', async () => {
    const other = (await post('/v1/tenants', s.admin, { name: 'tenant-c' })).adminToken.token as string
    for (const path of ['report', 'bundle']) {
      const theirs = await get(`/v1/cases/${caseId}/${path}`, other)
      const none = await get(`/v1/cases/case_doesnotexist/${path}`, s.admin)
      expect(theirs.status).toBe(404)
      expect(none.status).toBe(404)
      expect(theirs.json().error.code).toBe('E_NOT_FOUND')
      expect(theirs.text.includes('student')).toBe(false)
    }
    const empty = await newCase('empty')
    const r = await get(`/v1/cases/${empty}/report`, s.admin)
    expect(r.status).toBe(409)
    expect(r.json().error.code).toBe('E_CASE_EMPTY')
  })
})

describe('documents and secrets', () => {
  test('the OpenAPI document lists the three routes with their media types', async () => {
    const doc = (await get('/openapi.json')).json()
    expect(Object.keys(doc.paths['/v1/cases/{id}/report'].get.responses['200'].content).sort()).toEqual(['application/json', 'text/html', 'text/markdown'])
    expect(Object.keys(doc.paths['/v1/cases/{id}/bundle'].get.responses['200'].content)).toEqual([EVIDENCE_MEDIA_TYPE])
    expect(doc.paths['/v1/signing-key'].get).toBeDefined()
  })

  test('neither the signing key’s nor the watermark key’s secret appears in any response or log line', () => {
    const signer = JSON.parse(s.app.keyStore.signingKey(s.tenantId).toKeyFile()).secret as string
    const wm = JSON.parse(key.toKeyFile()).secret as string
    const haystack = responses.join('\n') + '\n' + s.logs.text
    expect(s.logs.lines.length).toBeGreaterThan(20)
    for (const secret of [signer, wm]) {
      for (const form of [secret, Buffer.from(fromBase64Url(secret)!).toString('hex'), Buffer.from(fromBase64Url(secret)!).toString('base64')]) {
        expect(haystack.includes(form)).toBe(false)
      }
    }
  })
})
