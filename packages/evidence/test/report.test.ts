import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BrowserContext } from 'playwright-core'
import { buildReport, createBundle, renderReport } from '@tokenmark/evidence'
import { corpus, signer, watermarkKey } from './fixtures.js'
import { launchChromium, type Chromium } from '../../../test/helpers/chromium.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..')
const outDir = join(root, 'test-output')
const created = new Date('2026-11-28T12:00:00Z')
const texts = [
  ...corpus(10, 70, 31, watermarkKey).map((text, i) => ({ text, id: `suspect-api/${i + 1}` })),
  { text: 'An innocent <script>alert("x")</script> line & a "quoted" one, written by hand without any key.', id: '<b>hand</b>' },
]
const bundle = createBundle(watermarkKey, texts, signer, { created, case: { title: 'Acme Labs v. Example AI', description: 'Suspected distillation of the Acme API' }, notes: 'Samples collected 2026-11-01 from api.example.test.' })
const plainBundle = createBundle(watermarkKey, corpus(6, 60, 32).map((text) => ({ text })), signer, { created })

describe('attribution report renderings', () => {
  const html = renderReport(bundle, { format: 'html', publicKey: signer.publicKey, watermarkKey, bundleName: 'acme.tmev' })
  const md = renderReport(bundle, { format: 'md', publicKey: signer.publicKey, bundleName: 'acme.tmev' })
  const json = JSON.parse(renderReport(bundle, { format: 'json', publicKey: signer.publicKey })) as ReturnType<typeof buildReport>

  it('says the verdict in one sentence, with the numbers, in all three formats', () => {
    const model = buildReport(bundle)
    expect(model.verdict.detected).toBe(true)
    expect(model.verdict.sentence).toMatch(/taken together, carries the statistical watermark of key tmk_[0-9a-f]{16}.*1 in .*p = /)
    for (const out of [html, md]) {
      for (const s of ['Verdict', 'The numbers', 'Method', 'Cumulative evidence', 'Per-text scores', 'Token evidence', 'Exclusions and filters', 'Limitations', 'Chain of custody', 'How to reproduce']) expect(out).toContain(s)
      expect(out).toContain(model.numbers.pValue)
      expect(out).toContain(model.numbers.oneIn)
      expect(out).toContain(model.numbers.eValue)
      expect(out).toContain(watermarkKey.commitment)
      expect(out).toContain(signer.signerId)
      for (const l of ['Paraphrase', 'adaptive distiller', 'Spoofing', 'Tokenizer mismatch']) expect(out).toContain(l)
      expect(out).toContain('tokenmark verify acme.tmev')
    }
    expect(json.verdict.sentence).toBe(model.verdict.sentence)
    expect(json.custody.verification!.every((c) => c.status !== 'fail')).toBe(true)
  })

  it('a corpus without the watermark gets a plain negative verdict that says what it does not mean', () => {
    const m = buildReport(plainBundle)
    expect(m.verdict.detected).toBe(false)
    expect(m.verdict.sentence).toMatch(/taken together, does not show significant evidence/)
    expect(m.verdict.doesNotMean.join(' ')).toMatch(/Absence of evidence/)
  })

  it('escapes every text it quotes and requests nothing from outside', () => {
    expect(html).not.toContain('<script>')
    expect(html).not.toContain('<b>hand</b>')
    expect(html).toContain('&lt;b&gt;hand&lt;/b&gt;')
    const urls = html.match(/(?:https?:)?\/\/[^\s"'<>)]+/g) ?? []
    expect(urls.filter((u) => u !== 'http://www.w3.org/2000/svg')).toEqual([])
    expect(html).toMatch(/Content-Security-Policy" content="default-src 'none'/)
  })

  describe('in headless Chromium', () => {
    let browser: BrowserContext
    let chrome: Chromium | undefined
    beforeAll(async () => {
      chrome = await launchChromium({ width: 1000, height: 900 })
      browser = chrome.browser
    })
    afterAll(async () => {
      await chrome?.close()
    })

    it('shows the verdict, numbers, plots and heat-map, makes no request, and prints', async () => {
      mkdirSync(outDir, { recursive: true })
      const file = join(outDir, 'evidence-report.html')
      writeFileSync(file, html)
      const page = await browser.newPage()
      const requests: string[] = []
      page.on('request', (r) => requests.push(r.url()))
      const errors: string[] = []
      page.on('pageerror', (e) => errors.push(e.message))
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(msg.text())
      })
      await page.goto('file://' + file)
      expect(requests).toEqual(['file://' + file])
      expect(errors).toEqual([])

      const verdict = page.locator('#verdict-sentence')
      await expect.poll(() => verdict.isVisible()).toBe(true)
      expect(await verdict.innerText()).toMatch(/carries the statistical watermark/)
      const model = buildReport(bundle)
      expect(await page.locator('#p-value').innerText()).toBe(model.numbers.pValue)
      expect(await page.locator('#one-in').innerText()).toBe(model.numbers.oneIn)
      expect(await page.locator('#tokens-scored').innerText()).toBe(model.numbers.tokensScored.toLocaleString('en-US'))

      for (const id of ['#plot-cumulative', '#plot-distribution']) {
        const box = await page.locator(id).boundingBox()
        expect(box, id).not.toBeNull()
        expect(box!.width).toBeGreaterThan(300)
        expect(box!.height).toBeGreaterThan(120)
      }
      // the curve is drawn and rises above the significance line
      const series = await page.locator('#plot-cumulative path.series').boundingBox()
      const threshold = await page.locator('#plot-cumulative line.threshold').boundingBox()
      expect(series!.height).toBeGreaterThan(50)
      expect(series!.y).toBeLessThan(threshold!.y)
      expect(await page.locator('#plot-distribution rect.bar').count()).toBeGreaterThan(2)

      const spans = page.locator('.excerpt span')
      expect(await spans.count()).toBeGreaterThan(50)
      // runs in the page: getComputedStyle is the browser's
      const colours = await spans.evaluateAll((els) => [...new Set(els.map((e) => (globalThis as unknown as { getComputedStyle(x: unknown): { backgroundColor: string } }).getComputedStyle(e).backgroundColor))])
      expect(colours).toEqual(expect.arrayContaining(['rgb(140, 212, 150)', 'rgb(242, 166, 166)']))
      expect(await page.locator('.legend').isVisible()).toBe(true)
      // quoted markup stays text (the input list is collapsed: open it)
      expect(await page.locator('#custody').innerText()).not.toContain('<b>hand</b>')
      await page.locator('#inputs summary').click()
      expect(await page.locator('#custody').innerText()).toContain('<b>hand</b>')

      await page.screenshot({ path: join(outDir, 'evidence-report.png'), fullPage: true })
      const pdf = await page.pdf({ format: 'A4', printBackground: true })
      expect(pdf.subarray(0, 5).toString()).toBe('%PDF-')
      expect(pdf.length).toBeGreaterThan(20_000)
      writeFileSync(join(outDir, 'evidence-report.pdf'), pdf)
      await page.close()
    })
  })
})
