/**
 * Same input, same number (issue 11 §3): one corpus with prompts, and one plain text file, through every
 * tool a user has — `scan --json`, `report --format json` and the HTML rendering of its bundle, `detect` (a single text),
 * a server case over real HTTP (`tokenmark serve` as a child process), and `verify --key` on the bundle
 * `report` wrote. Every one must score the same tokens and give the same log10 p: they are all folds
 * with core's one Scorer. Needs the build (dist): the CLI and the server run as child processes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { keyFromSecret } from '@tokenmark/core'
import { renderReport } from '@tokenmark/evidence'
import { plainText, watermarkedText } from '../packages/server/test/helpers.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CLI = join(ROOT, 'packages/cli/dist/main.js')
const dir = mkdtempSync(join(tmpdir(), 'tokenmark-consistency-'))
const f = (name: string) => join(dir, name)

const key = keyFromSecret(Uint8Array.from({ length: 32 }, (_, i) => (i * 13 + 7) & 255), { scheme: 'kgw' })
// A weak signal (half the texts watermarked, short) so p is an ordinary number, not 0; prompts overlap the texts.
const samples = Array.from({ length: 8 }, (_, i) => {
  const text = i % 2 === 0 ? watermarkedText(key, 40, 100 + i) : plainText(40, 200 + i)
  return { id: `s${i}`, prompt: `Question ${i}: ${text.split(' ').slice(3, 9).join(' ')}?`, text }
})
// One text with paragraphs: read whole unless --split paragraphs.
const plainFile = [watermarkedText(key, 30, 7), plainText(30, 8), watermarkedText(key, 30, 9)].join('\n\n') + '\n'

const tm = (args: string[], input?: string) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input })
  return { code: r.status, out: r.stdout, err: r.stderr }
}
const json = (args: string[]) => {
  const r = tm(args)
  if (r.code !== 0) throw new Error(`tokenmark ${args.join(' ')}: exit ${r.code}: ${r.err}${r.out}`)
  return JSON.parse(r.out)
}

let server: ChildProcess | undefined
let url = ''
const token = `tmt_${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').slice(0, 12)}_${randomBytes(32).toString('base64url')}`
async function api(method: string, path: string, body?: unknown): Promise<any> {
  const r = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const j = await r.json()
  if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status} ${JSON.stringify(j)}`)
  return j
}

beforeAll(async () => {
  writeFileSync(f('key.tmkey'), key.toKeyFile())
  expect(tm(['keygen', '--signing', '--out', f('signer.key')]).code).toBe(0)
  writeFileSync(f('corpus.jsonl'), samples.map((s) => JSON.stringify(s)).join('\n') + '\n')
  writeFileSync(f('answer.txt'), plainFile)
  server = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--db', f('tm.db'), '--log-level', 'warn'], {
    env: { ...process.env, TOKENMARK_ADMIN_TOKEN: token, TOKENMARK_MASTER_SECRET: randomBytes(32).toString('hex') },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  url = await new Promise<string>((res, rej) => {
    let out = ''
    server!.stdout!.on('data', (d) => {
      out += d
      const m = /listening on (\S+)/.exec(out)
      if (m) res(m[1])
    })
    server!.on('close', (code) => rej(new Error(`tokenmark serve exited ${code}`)))
  })
  await api('POST', '/v1/keys', { keyFile: key.toKeyFile(), name: 'provider key' })
}, 60_000)

afterAll(async () => {
  if (server && server.exitCode === null) {
    const closed = new Promise((r) => server!.on('close', r))
    server.kill('SIGTERM')
    await closed
  }
  rmSync(dir, { recursive: true, force: true })
})

/** The number every tool must agree on, from each tool's own output. */
interface Seen {
  tool: string
  tokensScored: number
  log10P: number
}

async function everyTool(corpus: string, items: { text: string; prompt?: string }[], name: string): Promise<{ seen: Seen[]; scan: any }> {
  const seen: Seen[] = []
  const scan = json(['scan', '--key', f('key.tmkey'), '--json', corpus])
  seen.push({ tool: 'scan --json', tokensScored: scan.tokensScored, log10P: scan.log10P })

  const rep = tm(['report', '--key', f('key.tmkey'), '--signing-key', f('signer.key'), '--format', 'json', '--out', f(`${name}.json`), corpus])
  expect(rep.code, rep.err).toBe(0)
  expect(rep.out).toContain(`bundle ${f(`${name}.tmev`)}`)
  const model = JSON.parse(readFileSync(f(`${name}.json`), 'utf8'))
  seen.push({ tool: 'report --format json', tokensScored: model.numbers.tokensScored, log10P: model.numbers.log10P })
  // With --key the report checked the commitment and recomputed: nothing skipped.
  expect(model.custody.verification.map((c: { id: string; status: string }) => `${c.id}:${c.status}`)).toEqual(['format:pass', 'signer:pass', 'signature:pass', 'inputs:pass', 'commitment:pass', 'recompute:pass'])
  expect(model.reproduce.commands[0]).toContain(f(`${name}.tmev`))

  // The HTML rendering of the bundle report wrote prints the same p-value and token count (in process:
  // `report --out x.html` renders the same bundle with the same function).
  const html = renderReport(new Uint8Array(readFileSync(f(`${name}.tmev`))), { format: 'html' })
  expect(html).toContain(model.numbers.pValue)
  expect(html).toContain(model.numbers.tokensScored.toLocaleString('en-US'))

  const v = json(['verify', f(`${name}.tmev`), '--public-key', f('signer.key.pub'), '--key', f('key.tmkey'), '--json'])
  expect(v.valid).toBe(true)
  seen.push({ tool: 'verify --key', tokensScored: v.tokensScored, log10P: v.log10P })

  const c = await api('POST', '/v1/cases', { name, keyId: key.keyId })
  // Two batches, so the case's merged accumulator is tested too.
  const body = items.map((s) => ({ text: s.text, ...(s.prompt !== undefined ? { prompt: s.prompt } : {}) }))
  await api('POST', `/v1/cases/${c.id}/samples`, { samples: body.slice(0, Math.ceil(body.length / 2)) })
  if (body.length > 1) await api('POST', `/v1/cases/${c.id}/samples`, { samples: body.slice(Math.ceil(body.length / 2)) })
  const got = await api('GET', `/v1/cases/${c.id}`)
  seen.push({ tool: 'server case', tokensScored: got.result.tokensScored, log10P: got.result.log10P })
  return { seen, scan }
}

function expectOneAnswer(seen: Seen[]): void {
  const [first] = seen
  expect(first.tokensScored).toBeGreaterThan(50)
  for (const s of seen) {
    expect({ tool: s.tool, tokensScored: s.tokensScored }).toEqual({ tool: s.tool, tokensScored: first.tokensScored })
    // JSON prints doubles exactly; every tool computes the same double from the same accumulator.
    expect({ tool: s.tool, log10P: s.log10P }).toEqual({ tool: s.tool, log10P: first.log10P })
  }
}

describe('same input, same number', () => {
  test('a corpus with prompts: scan, report (JSON and HTML), verify --key and a server case agree', async () => {
    const { seen, scan } = await everyTool(f('corpus.jsonl'), samples, 'prompts')
    expectOneAnswer(seen)
    // Every line's prompt was honoured, and scan says so.
    expect(scan.input).toMatchObject({ texts: 8, withPrompts: 8, split: 'none' })
    expect(scan.tokensSkipped.excluded).toBeGreaterThan(0)
    // detect on one line with its prompt equals scan of that line alone.
    writeFileSync(f('one.jsonl'), JSON.stringify(samples[0]) + '\n')
    const one = json(['scan', '--key', f('key.tmkey'), '--json', f('one.jsonl')])
    const d = JSON.parse(tm(['detect', '--key', f('key.tmkey'), '--jsonl', f('one.jsonl')]).out)
    expect([d.tokensScored, d.log10P]).toEqual([one.tokensScored, one.log10P])
  })

  test('a plain text file is one text everywhere (detect included); --split paragraphs is asked for and said', async () => {
    const { seen, scan: whole } = await everyTool(f('answer.txt'), [{ text: plainFile }], 'plain')
    const d = json(['detect', '--key', f('key.tmkey'), '--json', f('answer.txt')])
    seen.push({ tool: 'detect', tokensScored: d.tokensScored, log10P: d.log10P })
    expectOneAnswer(seen)
    expect(whole.input).toMatchObject({ texts: 1, split: 'none' })
    const split = json(['scan', '--key', f('key.tmkey'), '--json', '--split', 'paragraphs', f('answer.txt')])
    expect(split.input).toMatchObject({ texts: 3, split: 'paragraphs' })
    const human = tm(['scan', '--key', f('key.tmkey'), f('answer.txt')]).out
    expect(human).toMatch(/^input: 1 text from 1 plain-text file, each plain-text file one text/m)
  })

  test('a case of BOM-led texts and a lone surrogate: the BOM is stored byte for byte and the bundle verifies; the lone surrogate is a 400', async () => {
    const c = await api('POST', '/v1/cases', { name: 'bom', keyId: key.keyId })
    const texts = ['\uFEFF' + watermarkedText(key, 80, 31), '\uFEFF' + plainText(60, 32) + '\r\n\0end']
    await api('POST', `/v1/cases/${c.id}/samples`, { samples: texts.map((text) => ({ text, prompt: '\uFEFFa prompt' })) })
    const stored = await api('GET', `/v1/cases/${c.id}/samples`)
    expect(stored.samples.map((s: { text: string }) => s.text)).toEqual(texts)
    const bundle = await fetch(`${url}/v1/cases/${c.id}/bundle`, { headers: { authorization: `Bearer ${token}` } })
    expect(bundle.status).toBe(200)
    writeFileSync(f('bom.tmev'), new Uint8Array(await bundle.arrayBuffer()))
    const pub = await api('GET', '/v1/signing-key')
    writeFileSync(f('tenant.pub.json'), JSON.stringify(pub.publicKeyFile ?? pub))
    const v = json(['verify', f('bom.tmev'), '--public-key', f('tenant.pub.json'), '--key', f('key.tmkey'), '--json'])
    expect(v.valid).toBe(true)
    const bad = await fetch(`${url}/v1/cases/${c.id}/samples`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"samples":[{"text":"abc\\ud800def"}]}',
    })
    expect(bad.status).toBe(400)
    expect((await bad.json()).error.message).toMatch(/samples\/0\/text is not well-formed Unicode/)
  })

  test('--no-dedup is never a verdict: report refuses it unless --force, and then the bundle records why', () => {
    const args = ['report', '--key', f('key.tmkey'), '--signing-key', f('signer.key'), '--no-dedup', '--out', f('nodedup.md'), f('corpus.jsonl')]
    const refused = tm(args)
    expect(refused.code).toBe(2)
    expect(refused.err).toMatch(/^tokenmark: --no-dedup is not a valid test.*--force/)
    const forced = tm([...args, '--force'])
    expect(forced.code, forced.err).toBe(0)
    expect(forced.out).toMatch(/NOT A VALID TEST/)
    const v = json(['verify', f('nodedup.tmev'), '--public-key', f('signer.key.pub'), '--key', f('key.tmkey'), '--json'])
    expect(v.valid).toBe(true)
    expect(v.detected).toBe(false)
    const md = readFileSync(f('nodedup.md'), 'utf8')
    expect(md).toMatch(/NOT A VALID TEST/)
    expect(md).toMatch(/\*\*Warning:\*\* de-duplication is off/)
    expect(md).not.toMatch(/anytime-valid measure: it stays valid/)
  })

  test('probe provenance reaches the report: each input shows where it came from', () => {
    const probed = samples.slice(0, 3).map((s, i) => ({ ...s, model: 'suspect-7b', endpoint: 'https://api.example/v1', time: `2026-11-29T10:0${i}:00Z`, requestId: `req_${i}` }))
    writeFileSync(f('probed.jsonl'), probed.map((s) => JSON.stringify(s)).join('\n') + '\n')
    expect(tm(['report', '--key', f('key.tmkey'), '--signing-key', f('signer.key'), '--out', f('probed.md'), f('probed.jsonl')]).code).toBe(0)
    const md = readFileSync(f('probed.md'), 'utf8')
    for (let i = 0; i < 3; i++) expect(md).toContain(`endpoint https://api.example/v1, model suspect-7b, requestId req_${i}, sampleId s${i}, time 2026-11-29T10:0${i}:00Z`)
  })
})
