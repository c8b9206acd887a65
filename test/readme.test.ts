/**
 * The README as a newcomer follows it (issue 15 §1, §2): a `git clone` of this repository's HEAD into a
 * temporary folder, `npm run setup`, then every ```sh block of README.md run by bash exactly as written, in a
 * shell whose PATH has no node_modules/.bin and no npm_* variables (what a new terminal has). Blocks run from
 * the clone's root in order, each in its own shell; a block's commands stop at the first failure (set -e).
 * Two commands are not run as written: `npm test` (it is what runs this file) and `npm start` (a server
 * that runs until stopped: started, asked /healthz, stopped). Then the packed packages: the README's library
 * example runs against the tarballs installed in a fresh folder (the install block leaves them there), and
 * the same example bundled by esbuild runs in headless Chromium.
 * Slow by nature (clone, install, build, the demos): one file, and CI runs it once.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { launchChromium } from './helpers/chromium.js'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'tokenmark-readme-'))
const clone = join(work, 'tokenmark')

/** A new terminal's environment: no node_modules/.bin on PATH, nothing npm set for the running test. */
const shellEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env)
    .filter(([k]) => !/^(npm_|INIT_CWD$|NODE_OPTIONS$|VITEST|NO_COLOR$|FORCE_COLOR$|TOKENMARK_)/i.test(k))
    .map(([k, v]) => [k, k === 'PATH' ? (v ?? '').split(delimiter).filter((d) => !d.includes('node_modules')).join(delimiter) : v]),
)
// `mktemp -d` in the README's install block makes its folder in here, removed with the rest afterwards.
shellEnv.TMPDIR = work
const bash = (script: string, cwd = clone): SpawnSyncReturns<string> =>
  spawnSync('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd, env: shellEnv, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 240_000 })
const why = (r: SpawnSyncReturns<string>) => `exit ${r.status}\n--- stdout\n${r.stdout?.slice(-3000)}\n--- stderr\n${r.stderr?.slice(-3000)}`

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
const blocks = [...readme.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], code: m[2] }))
const shBlocks = blocks.filter((b) => b.lang === 'sh')
const libraryExample = blocks.find((b) => b.lang === 'ts' && b.code.includes("from '@tokenmark/core'"))!.code
/** The folder the README install block made with mktemp -d and installed the core, lab, evidence and CLI tarballs into. */
const installDir = () => {
  const d = readdirSync(work).find((n) => n.startsWith('tmp.'))
  if (!d) throw new Error('the README install block did not run (no mktemp folder)')
  return join(work, d)
}

beforeAll(() => {
  const c = spawnSync('git', ['clone', '--quiet', ROOT, clone], { encoding: 'utf8' })
  expect(c.status, c.stderr).toBe(0)
  const setup = bash('npm run setup')
  expect(setup.status, why(setup)).toBe(0)
}, 300_000)
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('README, in a clean clone after `npm run setup`', () => {
  test('the new shell has neither pnpm nor tokenmark: the README must not need them', () => {
    expect(bash('command -v pnpm || true').stdout.trim()).toBe('')
    expect(bash('command -v tokenmark || true').stdout.trim()).toBe('')
    expect(shBlocks.length).toBeGreaterThanOrEqual(4)
    for (const b of shBlocks) expect(b.code).not.toMatch(/(^|[;&|(]\s*)pnpm\s/m)
  })

  test('`npm start` serves (started, asked /healthz, stopped)', async () => {
    expect(shBlocks[0].code).toMatch(/^npm run setup && npm start\b/m)
    expect(shBlocks[0].code).toMatch(/^npm test\b/m)
    // The README's port; a machine where 8787 is taken gets a free one (the only deviation from the text).
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer().once('error', () => resolve(false))
      s.listen(8787, '127.0.0.1', () => s.close(() => resolve(true)))
    })
    // its own process group: npm → sh → node, and stopping npm alone would orphan the server
    const child = spawn('bash', ['-c', free ? 'exec npm start' : 'exec npm start -- --port 0'], { cwd: clone, env: shellEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`npm start did not listen: ${out}`)), 120_000)
        child.stdout.on('data', () => {
          const m = /listening on (http:\/\/\S+)/.exec(out)
          if (m) {
            clearTimeout(t)
            resolve(m[1])
          }
        })
      })
      if (free) expect(url).toBe('http://127.0.0.1:8787')
      expect(out).toMatch(/admin token/)
      const r = await fetch(`${url}/healthz`)
      expect(r.status).toBe(200)
      expect((await fetch(`${url}/docs/try`)).status).toBe(200)
    } finally {
      const closed = new Promise((r) => child.once('close', r))
      process.kill(-child.pid!, 'SIGTERM')
      await closed
    }
  }, 180_000)

  test('every other ```sh block runs as written, in order', () => {
    for (const b of shBlocks.slice(1)) {
      const r = bash(b.code)
      expect(r.status, `README block:\n${b.code}\n${why(r)}`).toBe(0)
      if (b.code.includes('npm run demo:distillation')) {
        expect(r.stderr).toMatch(/Everything is in \S+:\n  report /) // the distillation demo narrates on stderr
        expect(r.stdout).toMatch(/watermarked text, provider key +DETECTED/) // npm run demo
        expect(r.stdout + r.stderr).not.toMatch(/\bpnpm /) // what they tell you to run next works too
      }
      if (b.code.includes('keygen --scheme kgw --out provider.tmkey --json')) {
        const lines = r.stdout.split('\n')
        expect(JSON.parse(lines.find((l) => l.startsWith('{"keyId"'))!)).toMatchObject({ scheme: 'kgw', file: 'provider.tmkey' })
        expect(lines[0]).toBe('0.1.0') // npm run tokenmark -- --version
        expect(lines).toContain('true') // `detect --json | node -e …` piped clean JSON: detected
        expect(r.stdout).toContain('WATERMARK DETECTED')
        expect(r.stdout).toMatch(/\{\+[^]*?\+\}/) // --show, not a terminal: plain marks
        expect(existsSync(join(clone, 'suspect.html'))).toBe(true)
        expect(r.stdout).not.toMatch(/^> /m) // no npm banner
      }
      if (b.code.includes('lab distill --table')) expect(r.stdout).toMatch(/\|/)
      if (b.code.includes('npm run pack')) expect(r.stdout).toMatch(/^0\.1\.0$/m) // npx tokenmark --version
    }
  }, 900_000)

  test('the CLI resolves paths against the folder it was called from; --version; one line on errors', () => {
    const r = bash('mkdir -p mine && cd mine && npm run tokenmark -- keygen --scheme kgw --out here.tmkey >/dev/null && npm run tokenmark -- detect --key here.tmkey --json ../README.md')
    expect(r.status, why(r)).toBe(0)
    expect(existsSync(join(clone, 'mine/here.tmkey'))).toBe(true)
    expect(JSON.parse(r.stdout).detected).toBe(false)
    const bad = bash('cd mine && npm run tokenmark -- detect --key missing.tmkey x.txt || echo "exit $?"')
    expect(bad.stderr).toBe('tokenmark: cannot read key file missing.tmkey: ENOENT\n')
    expect(bad.stdout).toBe('exit 2\n')
  })
})

describe('packed packages outside the workspace', () => {
  // The README's install block packed every package and installed the tarballs into a fresh folder.
  let dir: string
  beforeAll(() => {
    dir = installDir()
  })

  test('the tarballs hold dist with type declarations and an exports map, and no workspace: ranges', () => {
    const packs = readdirSync(join(clone, 'packs')).sort()
    expect(packs).toEqual(['tokenmark-cli-0.1.0.tgz', 'tokenmark-core-0.1.0.tgz', 'tokenmark-evidence-0.1.0.tgz', 'tokenmark-lab-0.1.0.tgz', 'tokenmark-server-0.1.0.tgz'])
    for (const p of packs) {
      const files = spawnSync('tar', ['tzf', join(clone, 'packs', p)], { encoding: 'utf8' }).stdout.split('\n')
      expect(files, p).toContain('package/dist/index.d.ts')
      expect(files, p).toContain('package/dist/index.js')
      const pkg = JSON.parse(spawnSync('tar', ['xzf', join(clone, 'packs', p), '-O', 'package/package.json'], { encoding: 'utf8' }).stdout) as { exports: Record<string, { types: string }>; dependencies: Record<string, string> }
      expect(pkg.exports['.'].types, p).toBe('./dist/index.d.ts')
      expect(JSON.stringify(pkg.dependencies), p).not.toContain('workspace:')
    }
  })

  test("the README's library example runs against the installed core tarball (node, ESM)", () => {
    writeFileSync(join(dir, 'example.mjs'), libraryExample)
    const r = spawnSync(process.execPath, ['example.mjs'], { cwd: dir, env: shellEnv, encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^false \d/) // not watermarked: detected false, then the p-value
    expect(existsSync(join(dir, 'node_modules/@tokenmark/core/dist/index.d.ts'))).toBe(true)
  })

  test('the same example bundled by esbuild runs in headless Chromium', async () => {
    const out = await build({ stdin: { contents: libraryExample, resolveDir: dir, loader: 'ts' }, bundle: true, platform: 'browser', format: 'iife', target: 'es2022', write: false, logLevel: 'silent' })
    const html = join(dir, 'index.html')
    writeFileSync(join(dir, 'bundle.js'), out.outputFiles[0].text)
    writeFileSync(html, '<!DOCTYPE html><meta charset="utf-8"><script src="bundle.js"></script>')
    const chrome = await launchChromium()
    const browser = chrome.browser
    try {
      const page = await browser.newPage()
      const logs: string[] = []
      const errors: string[] = []
      page.on('console', (m) => (m.type() === 'error' ? errors : logs).push(m.text()))
      page.on('pageerror', (e) => errors.push(e.message))
      await page.goto('file://' + html)
      // Two lines: the detection, then the corpus Scorer's outcome.
      await expect.poll(() => logs.length, { timeout: 60_000 }).toBe(2)
      expect(errors).toEqual([])
      expect(logs[0]).toMatch(/^false \d/)
      expect(await page.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe('undefined')
    } finally {
      await chrome.close()
    }
  }, 120_000)

  test('the CLI from its tarball, with npx, outside the workspace', () => {
    const r = bash(`cd "${dir}" && npx tokenmark --version && npx tokenmark keygen --scheme kgw --out k.tmkey >/dev/null && echo 'Call me Ishmael. Some years ago, never mind how long.' | npx tokenmark detect --key k.tmkey --json -`)
    expect(r.status, why(r)).toBe(0)
    const [version, json] = r.stdout.trim().split('\n')
    expect(version).toBe('0.1.0')
    expect(JSON.parse(json)).toMatchObject({ detected: false, scheme: 'kgw' })
  }, 120_000)
})
