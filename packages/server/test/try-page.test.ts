/**
 * /docs/try (issue 15 §4): a real server over HTTP on loopback, a key imported into the tenant, a text the
 * reference model watermarked with it; headless Chromium signs in with an API token, picks the key, pastes the
 * text and gets the token view (screenshot: test-output/try-page.png). Same origin only; the view is the one
 * `tokenmark detect --html` renders (evidence's tokenView).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { detect, generateKey, getTokenizer, seededRng, watermarkSampler } from '@tokenmark/core'
import { generate, trainReferenceModel } from '@tokenmark/lab'
import { bootstrap, buildServer } from '@tokenmark/server'
import type { FastifyInstance } from 'fastify'
import type { BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { freshPgUrl } from './helpers.js'
import { launchChromium, type Chromium } from '../../../test/helpers/chromium.js'

const outDir = fileURLToPath(new URL('../../../test-output', import.meta.url))
const key = generateKey({ scheme: 'kgw' })
let app: FastifyInstance
let base: string
let admin: string
let marked: string
let browser: BrowserContext
let chrome: Chromium | undefined

beforeAll(async () => {
  const tk = getTokenizer('o200k_base')
  marked = generate(trainReferenceModel(tk), tk, 'The whale', { maxTokens: 160, sampler: watermarkSampler(key, { topK: 100 }, seededRng(5)) }).text + '\n<i>pasted</i> & kept as text.'
  app = await buildServer({ db: (await freshPgUrl()) ?? ':memory:', masterSecret: 'b'.repeat(64), logger: false })
  admin = bootstrap(app)!.adminToken!
  base = await app.listen({ host: '127.0.0.1', port: 0 })
  const r = await fetch(`${base}/v1/keys`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ keyFile: key.toKeyFile(), name: 'provider' }) })
  expect(r.status).toBe(201)
  chrome = await launchChromium({ width: 1000, height: 900 })
  browser = chrome.browser
}, 120_000)
afterAll(async () => {
  await chrome?.close()
  await app?.close()
})

const post = (path: string, token: string, body: unknown) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('/docs/try', () => {
  test('POST /v1/view: the view of the text, with the same numbers as detect; per-token marks need the detail scope', async () => {
    const r = await post('/v1/view', admin, { text: marked, keyId: key.keyId })
    expect(r.status).toBe(200)
    const j = (await r.json()) as { html: string; detected: boolean; log10P: number; tokensScored: number }
    const d = detect({ text: marked, keys: key })
    expect(j.detected).toBe(true)
    expect(j.log10P).toBeCloseTo(d.log10P, 9)
    expect(j.tokensScored).toBe(d.tokensScored)
    expect((j.html.match(/<span class="match"/g) ?? []).length).toBe(d.value)
    expect(j.html.replace(/<[^>]+>/g, '')).toContain('&lt;i&gt;pasted&lt;/i&gt; &amp; kept')
    const t = await post('/v1/tokens', admin, { name: 'detect only', scopes: ['detect'] })
    expect(t.status).toBe(201)
    const { token } = (await t.json()) as { token: string }
    const f = await post('/v1/view', token, { text: marked, keyId: key.keyId })
    expect(f.status).toBe(403)
    expect(((await f.json()) as { error: { code: string } }).error.code).toBe('E_FORBIDDEN')
    const bad = await post('/v1/view', admin, { text: marked })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } })
  })

  test('in headless Chromium: sign in, pick the key, paste, see the coloured view; only same-origin requests', async () => {
    const page = await browser.newPage()
    const requests: string[] = []
    page.on('request', (q) => requests.push(q.url()))
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text())
    })
    await page.goto(`${base}/docs/try`)
    await page.fill('#token', admin)
    await page.dispatchEvent('#token', 'change')
    await expect.poll(() => page.locator('#key option').first().getAttribute('value')).toBe(key.keyId)
    await page.fill('#text', marked)
    await page.click('#show')
    await expect.poll(() => page.locator('#tm-verdict').count(), { timeout: 20_000 }).toBe(1)
    expect(await page.locator('#tm-verdict').innerText()).toMatch(/^Watermark detected: p = /)
    expect(await page.locator('.tm-legend').isVisible()).toBe(true)
    const bg = (cls: string) =>
      page.locator(`.tm-text span.${cls}`).first().evaluate((e) => (globalThis as unknown as { getComputedStyle(x: unknown): { backgroundColor: string } }).getComputedStyle(e).backgroundColor)
    expect(await bg('match')).toBe('rgb(140, 212, 150)')
    expect(await bg('miss')).toBe('rgb(242, 166, 166)')
    expect(await page.locator('.tm-text').innerText()).toContain('<i>pasted</i> & kept')
    expect(errors).toEqual([])
    expect(requests.every((u) => u.startsWith(base + '/'))).toBe(true)
    expect(requests.map((u) => new URL(u).pathname)).toEqual(expect.arrayContaining(['/docs/try', '/docs/try.js', '/v1/keys', '/v1/view']))
    mkdirSync(outDir, { recursive: true })
    await page.screenshot({ path: join(outDir, 'try-page.png'), fullPage: true })
    await page.close()
  })
})
