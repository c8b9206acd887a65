/**
 * `tokenmark detect --show` and `--html` (issue 15 §4): the built CLI in a child process on text the
 * reference model watermarked with a fresh key; the page checked and photographed in headless Chromium
 * (test-output/detect-view.png).
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { launchChromium, type Chromium } from '../../../test/helpers/chromium.js'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const BIN = join(ROOT, 'packages/cli/dist/main.js')
const outDir = join(ROOT, 'test-output')
const dir = mkdtempSync(join(tmpdir(), 'tokenmark-show-'))
const clean = { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined }
const tm = (args: string[], env: Record<string, string | undefined> = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: { ...clean, ...env } as NodeJS.ProcessEnv, encoding: 'utf8' })

beforeAll(() => {
  expect(tm(['keygen', '--scheme', 'kgw', '--out', 'k.tmkey']).status).toBe(0)
  const g = tm(['generate', '--key', 'k.tmkey', '--seed', '7', '--prompt', 'Call me Ishmael.'])
  expect(g.status).toBe(0)
  // a watermarked passage, then a human line with markup that must stay text
  writeFileSync(join(dir, 'suspect.txt'), g.stdout + '\nA human adds <b>this</b> & that, by hand.\n')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const ESC = '\x1b['
describe('detect --show', () => {
  test('not a terminal: no colour codes, the marks in plain text, then the usual summary', () => {
    const r = tm(['detect', '--key', 'k.tmkey', '--show', 'suspect.txt'])
    expect(r.status).toBe(0)
    expect(r.stdout).not.toContain(ESC)
    expect(r.stdout).toMatch(/\{\+[^]+?\+\}/)
    expect(r.stdout).toMatch(/\[-[^]+?-\]/)
    expect(r.stdout).toMatch(/: (\d+) of (\d+) scored tokens matched\n/)
    expect(r.stdout).toContain('WATERMARK DETECTED')
    // every character of the text is there, in order, once the marks are taken out
    const shown = r.stdout.split('\n\n{+matched the key+}')[0].replace(/\{\+|\+\}|\[-|-\]/g, '')
    expect(shown.trimEnd()).toBe(readFileSync(join(dir, 'suspect.txt'), 'utf8').trimEnd())
  })

  test('FORCE_COLOR: green, red and grey backgrounds; NO_COLOR wins over it', () => {
    const r = tm(['detect', '--key', 'k.tmkey', '--show', 'suspect.txt'], { FORCE_COLOR: '1' })
    expect(r.status).toBe(0)
    const count = (code: string) => r.stdout.split(`${ESC}${code}m`).length - 1
    expect(count('30;42')).toBeGreaterThan(10) // green
    expect(count('30;41')).toBeGreaterThan(5) // red
    expect(count('30;100')).toBeGreaterThan(0) // grey: the first token has no context
    const matched = Number(/: (\d+) of (\d+) scored tokens matched/.exec(r.stdout)![1])
    const summaryGreen = Number(/green: (\d+) of/.exec(r.stdout)![1])
    expect(matched).toBe(summaryGreen)
    const none = tm(['detect', '--key', 'k.tmkey', '--show', 'suspect.txt'], { FORCE_COLOR: '1', NO_COLOR: '1' })
    expect(none.stdout).not.toContain(ESC)
  })

  test('--show with --json or --jsonl is refused in one line', () => {
    const r = tm(['detect', '--key', 'k.tmkey', '--show', '--json', 'suspect.txt'])
    expect(r.status).toBe(2)
    expect(r.stderr).toBe('tokenmark: use either --json or --show\n')
    expect(tm(['detect', '--key', 'k.tmkey', '--html', 'x.html', '--jsonl', 'suspect.txt']).stderr).toMatch(/^tokenmark: --show and --html view one text/)
  })
})

describe('detect --html in headless Chromium', () => {
  let browser: BrowserContext
  let chrome: Chromium | undefined
  beforeAll(async () => {
    chrome = await launchChromium({ width: 1000, height: 800 })
    browser = chrome.browser
  })
  afterAll(async () => {
    await chrome?.close()
  })

  test('a self-contained page: verdict, numbers, legend and the coloured text; no request; JSON still clean', async () => {
    const r = tm(['detect', '--key', 'k.tmkey', '--html', 'view.html', '--json', 'suspect.txt'])
    expect(r.status).toBe(0)
    const json = JSON.parse(r.stdout) as { detected: boolean; value: number; tokensScored: number; marks?: unknown }
    expect(json.detected).toBe(true)
    expect(json.marks).toBeUndefined()
    const file = join(dir, 'view.html')
    const html = readFileSync(file, 'utf8')
    expect(html).toMatch(/Content-Security-Policy" content="default-src 'none'/)
    expect(html).not.toMatch(/<script|src=|href=/)

    const page = await browser.newPage()
    const requests: string[] = []
    page.on('request', (q) => requests.push(q.url()))
    await page.goto('file://' + file)
    expect(requests).toEqual(['file://' + file])
    expect(await page.locator('#tm-verdict').innerText()).toMatch(/^Watermark detected: p = /)
    expect(await page.locator('.tm-view dl').innerText()).toContain(`${json.value} of ${json.tokensScored} scored`)
    expect(await page.locator('.tm-legend').isVisible()).toBe(true)
    const bg = (cls: string) =>
      page.locator(`.tm-text span.${cls}`).first().evaluate((e) => (globalThis as unknown as { getComputedStyle(x: unknown): { backgroundColor: string } }).getComputedStyle(e).backgroundColor)
    expect(await bg('match')).toBe('rgb(140, 212, 150)')
    expect(await bg('miss')).toBe('rgb(242, 166, 166)')
    expect(await bg('unscored')).toBe('rgb(228, 228, 228)')
    expect(await page.locator('.tm-text span.match').count()).toBe(json.value)
    expect(await page.locator('.tm-text').innerText()).toContain('<b>this</b> & that')
    mkdirSync(outDir, { recursive: true })
    await page.screenshot({ path: join(outDir, 'detect-view.png'), fullPage: true })
    await page.close()
  })
})
