/** generate, scan and lab distill driven as a user would: the built binary, real files, exit codes. */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, test } from 'vitest'

const BIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tokenmark-lab-cli-'))

function tm(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', cwd: dir, env: { ...process.env, TOKENMARK_CACHE: join(dir, 'cache') } })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

const SCAN_FIELDS = ['valid', 'pValue', 'log10P', 'eValue', 'log10E', 'tokensTotal', 'tokensScored', 'tokensSkipped', 'scheme', 'keyId']

beforeAll(() => {
  expect(tm(['keygen', '--scheme', 'kgw', '--context', '2', '--out', 'k.tmkey']).code).toBe(0)
  expect(tm(['keygen', '--scheme', 'kgw', '--context', '2', '--out', 'o.tmkey']).code).toBe(0)
  const prompts = ['Call me Ishmael.', 'The whale rose slowly.', 'Queequeg was a native of Rokovoko.', 'It was a clear steel-blue day.']
  writeFileSync(join(dir, 'prompts.jsonl'), prompts.map((p, i) => JSON.stringify({ id: `q${i}`, prompt: p })).join('\n') + '\n')
}, 60_000)

describe('tokenmark generate', () => {
  test('writes unwatermarked text for one prompt, deterministically for a seed', () => {
    const a = tm(['generate', '--prompt', 'Call me Ishmael.', '--max-tokens', '30', '--seed', '4'])
    const b = tm(['generate', '--prompt', 'Call me Ishmael.', '--max-tokens', '30', '--seed', '4'])
    expect(a.code).toBe(0)
    expect(a.out.trim().length).toBeGreaterThan(20)
    expect(a.out).toBe(b.out)
  })

  test('answers a JSONL prompt file with watermarked {id, prompt, text} lines and records the emission filter', () => {
    const r = tm(['generate', '--key', 'k.tmkey', '--prompts', 'prompts.jsonl', '--max-tokens', '150', '--jsonl', '--record-filter', 'served.tmef'])
    expect(r.code).toBe(0)
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as { id: string; prompt: string; text: string })
    expect(lines.map((l) => l.id)).toEqual(['q0', 'q1', 'q2', 'q3'])
    expect(lines.every((l) => l.text.length > 50)).toBe(true)
    writeFileSync(join(dir, 'answers.jsonl'), r.out)
    expect(r.err).toMatch(/recorded \d+ contexts in served\.tmef/)
  })

  test('rejects bad input with one line and exit 2', () => {
    for (const args of [
      ['generate'],
      ['generate', '--prompt', 'x', '--prompts', 'prompts.jsonl'],
      ['generate', '--prompt', 'x', '--max-tokens', 'many'],
      ['generate', '--prompt', 'x', '--key', 'k.tmkey', '--temperature', '0'],
      ['generate', '--prompts', 'missing.jsonl'],
    ]) {
      const r = tm(args)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.err).toMatch(/^tokenmark: \S.*\n$/)
    }
  })
})

describe('tokenmark scan', () => {
  test('finds the watermark in the generated corpus, prompts excluded and filter on, and prints the scan fields', () => {
    const r = tm(['scan', '--key', 'k.tmkey', '--prompts', 'prompts.jsonl', '--filter', 'served.tmef', '--json', 'answers.jsonl'])
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out) as Record<string, unknown>
    for (const f of SCAN_FIELDS) expect(j, f).toHaveProperty(f)
    expect(j.log10P as number).toBeLessThan(-6)
    expect(j.texts).toBe(4)
    expect(j.tokensTotal as number).toBeGreaterThan(500)
    // Each line's prompt is honoured (context, and its tuples excluded), and scan says how it read the input.
    expect(j.input).toEqual({ files: 1, texts: 4, withPrompts: 4, globalPrompts: 4, split: 'none', formats: { jsonl: 1, text: 0 } })
  })

  test('finds nothing with another key, and reads text files (one text each, paragraphs on request) and stdin', () => {
    const other = JSON.parse(tm(['scan', '--key', 'o.tmkey', '--json', 'answers.jsonl']).out) as { log10P: number; keyId: string }
    expect(other.log10P).toBeGreaterThan(-3)
    writeFileSync(join(dir, 'human.txt'), 'Call me Ishmael. Some years ago, never mind how long precisely.\n\nThere now is your insular city of the Manhattoes, belted round by wharves.\n')
    const t = tm(['scan', '--key', 'k.tmkey', '--json', 'human.txt'])
    expect(t.code).toBe(0)
    expect(JSON.parse(t.out).texts).toBe(1)
    expect(JSON.parse(tm(['scan', '--key', 'k.tmkey', '--json', '--split', 'paragraphs', 'human.txt']).out).texts).toBe(2)
    const s = tm(['scan', '--key', 'k.tmkey', '--format', 'text', '-'], 'Some text from stdin, for a change.')
    expect(s.code).toBe(0)
    expect(s.out).toMatch(/no watermark detected/)
  })

  test('rejects a bad filter, a bad JSONL line and a missing key with one line and exit 2', () => {
    writeFileSync(join(dir, 'bad.tmef'), 'not a filter')
    writeFileSync(join(dir, 'bad.jsonl'), '{"text": "fine"}\n{"txt": 1}\n')
    for (const args of [
      ['scan', '--key', 'k.tmkey', '--filter', 'bad.tmef', 'answers.jsonl'],
      ['scan', '--key', 'k.tmkey', 'bad.jsonl'],
      ['scan', 'answers.jsonl'],
      ['scan', '--key', 'k.tmkey', 'nope.jsonl'],
    ]) {
      const r = tm(args)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.err).toMatch(/^tokenmark: [^\n]+\n$/)
    }
  })
})

describe('tokenmark lab distill', () => {
  test('detects a ρ = 10 % student with the filter on and prints the scan fields plus rho', () => {
    const r = tm(['lab', 'distill', '--rho', '0.1', '--filter', '--json', '--seed', '7', '--train-tokens', '60000', '--served-tokens', '6000', '--probe-answers', '300'])
    expect(r.code, r.err).toBe(0)
    const j = JSON.parse(r.out) as Record<string, unknown>
    for (const f of [...SCAN_FIELDS, 'rho']) expect(j, f).toHaveProperty(f)
    expect(j.rho).toBe(0.1)
    expect(j.filter).toBe(true)
    expect(j.log10P as number).toBeLessThan(-6)
  }, 60_000)

  test('--filter accounts scores only contexts of the harvested responses', () => {
    const r = tm(['lab', 'distill', '--rho', '0.1', '--filter', 'accounts', '--json', '--seed', '7', '--train-tokens', '60000', '--served-tokens', '6000', '--probe-answers', '300'])
    expect(r.code, r.err).toBe(0)
    const j = JSON.parse(r.out) as Record<string, unknown>
    expect(j.filterMode).toBe('accounts')
    expect(j.filterTokens as number).toBeLessThanOrEqual(6000)
    expect(j.log10P as number).toBeLessThan(-6)
  }, 60_000)

  test('rejects an unknown filter mode with one line and exit 2', () => {
    const r = tm(['lab', 'distill', '--rho', '0.1', '--filter', 'everything'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/^tokenmark: --filter must be one of off, served, accounts/)
  })

  test('rejects a rho outside [0, 1] with one line and exit 2', () => {
    const r = tm(['lab', 'distill', '--rho', '5'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/^tokenmark: --rho must be in \[0, 1\]/)
  })
})

describe('tokenmark eval', () => {
  test('runs a small grid, prints Markdown and writes JSON', () => {
    const r = tm(['eval', '--schemes', 'kgw', '--attacks', 'none:0,delete:0.1', '--lengths', '40', '--texts', '4', '--out', 'grid.json'])
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/\| kgw \| none \| 40 \|/)
    expect(r.out).toMatch(/\| kgw \| delete \(0\.1\) \| 40 \|/)
    const j = JSON.parse(readFileSync(join(dir, 'grid.json'), 'utf8')) as { cells: { tpr: number[]; auc: number }[]; quality: unknown[] }
    expect(j.cells).toHaveLength(2)
    expect(j.cells[0].tpr).toHaveLength(3)
    expect(j.quality).toHaveLength(1)
  }, 60_000)

  test('rejects an unknown attack or scheme with one line and exit 2', () => {
    for (const args of [
      ['eval', '--attacks', 'melt:0.5'],
      ['eval', '--schemes', 'nope', '--texts', '1', '--lengths', '5'],
      ['eval', '--lengths', 'ten'],
    ]) {
      const r = tm(args)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.err).toMatch(/^(tokenmark: [^\n]+\n)+$/)
    }
  }, 60_000)
})
