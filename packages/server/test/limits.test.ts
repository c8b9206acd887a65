import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { buildServer } from '@tokenmark/server'
import { bearer, MASTER, testKey, testServer, watermarkedText } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'tokenmark-server-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('limits', () => {
  test('a body over the configured limit is a 413', async () => {
    const s = await testServer({ limits: { bodyLimit: 1024 } })
    const r = await s.app.inject({ method: 'POST', url: '/v1/detect', headers: bearer(s.admin), payload: { text: 'x'.repeat(2000) } })
    expect(r.statusCode).toBe(413)
    expect(JSON.parse(r.body).error.code).toBe('E_BODY_TOO_LARGE')
    await s.app.close()
  })
  test('the default body limit is 2 MB', async () => {
    const s = await testServer()
    expect(s.app.limits.bodyLimit).toBe(2 * 1024 * 1024)
    const r = await s.app.inject({ method: 'POST', url: '/v1/detect', headers: bearer(s.admin), payload: { text: 'x'.repeat(2 * 1024 * 1024) } })
    expect(r.statusCode).toBe(413)
    await s.app.close()
  })
  test('requests past the per-token rate limit get 429 with Retry-After; other tokens are unaffected', async () => {
    const s = await testServer({ rateLimit: { max: 3, windowMs: 60_000 } })
    const other = s.app.access.createToken(s.tenantId, 'other', ['cases:read']).token
    const statuses: number[] = []
    let last
    for (let i = 0; i < 4; i++) {
      last = await s.app.inject({ method: 'GET', url: '/v1/cases', headers: bearer(s.admin) })
      statuses.push(last.statusCode)
    }
    expect(statuses).toEqual([200, 200, 200, 429])
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0)
    expect(JSON.parse(last!.body).error.code).toBe('E_RATE_LIMITED')
    expect((await s.app.inject({ method: 'GET', url: '/v1/cases', headers: bearer(other) })).statusCode).toBe(200)
    expect((await s.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
    await s.app.close()
  })
})

describe('persistence', () => {
  test.each([
    ['per-batch deltas', 1 << 20],
    ['a checkpoint every batch', 0],
  ])('a case’s evidence survives a restart (%s) and equals a case fed in one batch; a wrong master secret is refused', async (_name, checkpointMinBytes) => {
    const db = join(dir, `p-${checkpointMinBytes}.db`)
    const key = testKey(3)
    const s = await testServer({ db, limits: { checkpointMinBytes } })
    const h = bearer(s.admin)
    await s.app.inject({ method: 'POST', url: '/v1/keys', headers: h, payload: { keyFile: key.toKeyFile() } })
    const mk = async (name: string) => JSON.parse((await s.app.inject({ method: 'POST', url: '/v1/cases', headers: h, payload: { name, keyId: key.keyId } })).body).id as string
    const batched = await mk('batched')
    const whole = await mk('whole')
    const samples = [0, 1, 2, 3, 4, 5].map((i) => ({ text: watermarkedText(key, 60, i), ...(i === 4 ? { prompt: watermarkedText(key, 20, 1) } : {}) }))
    for (let i = 0; i < samples.length; i += 2) {
      await s.app.inject({ method: 'POST', url: `/v1/cases/${batched}/samples`, headers: h, payload: { samples: samples.slice(i, i + 2) } })
    }
    await s.app.inject({ method: 'POST', url: `/v1/cases/${whole}/samples`, headers: h, payload: { samples } })
    const get = async (app: typeof s.app, id: string) => JSON.parse((await app.inject({ method: 'GET', url: `/v1/cases/${id}/result`, headers: h })).body)
    const before = await get(s.app, batched)
    expect(before).toEqual(await get(s.app, whole))
    expect(before.tokensSkipped.excluded).toBeGreaterThan(0)
    await s.app.close()
    expect(s.app.store.closed).toBe(true)

    const again = await buildServer({ db, masterSecret: MASTER, limits: { checkpointMinBytes } })
    const after = await get(again, batched)
    expect(after).toEqual(before)
    expect(after.detected).toBe(true)
    const deltas = (again.store.db.prepare('SELECT count(*) AS n FROM acc_deltas WHERE case_id = ?').get(batched) as { n: number }).n
    expect(deltas).toBe(checkpointMinBytes === 0 ? 0 : 3)
    await again.close()

    await expect(buildServer({ db, masterSecret: 'b'.repeat(64) })).rejects.toThrow(/master secret does not match/)
  })
  test('a file database (mode 0600) without a configured secret generates one next to it (mode 0600) and reuses it', async () => {
    const db = join(dir, 'gen.db')
    const a = await buildServer({ db, env: {} })
    const { statSync } = await import('node:fs')
    expect(statSync(`${db}.master`).mode & 0o777).toBe(0o600)
    expect(statSync(db).mode & 0o777).toBe(0o600)
    await a.close()
    const b = await buildServer({ db, env: {} })
    await b.close()
  })
})
