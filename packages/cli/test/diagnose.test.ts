/**
 * `tokenmark detect --diagnose` (issue 14 §4): the built CLI in a child process. The reference model
 * watermarks a response with a fresh key (KGW, h = 1); a second key file holds the same secret with
 * h = 2, as a generator built from the wrong configuration would. Detection with the h = 2 file misses;
 * --diagnose finds the text through the h = 1 row, corrected for every row.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { parseKeyFile } from '@tokenmark/core'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const BIN = join(ROOT, 'packages/cli/dist/main.js')
const dir = mkdtempSync(join(tmpdir(), 'tokenmark-diagnose-'))
const tm = (args: string[], input?: string) => spawnSync(process.execPath, [BIN, ...args], { cwd: dir, input, encoding: 'utf8' })
const PROMPT = 'Call me Ishmael.'
let secretHead = ''

beforeAll(() => {
  expect(tm(['keygen', '--scheme', 'kgw', '--out', 'h1.tmkey']).status).toBe(0)
  const text = readFileSync(join(dir, 'h1.tmkey'), 'utf8')
  secretHead = (JSON.parse(text) as { secret: string }).secret.slice(0, 12)
  const k = parseKeyFile(text)
  writeFileSync(join(dir, 'h2.tmkey'), k.withConfig({ params: { ...k.config.params, context: 2 } }).toKeyFile(), { mode: 0o600 })
  const g = tm(['generate', '--key', 'h1.tmkey', '--seed', '7', '--prompt', PROMPT])
  expect(g.status).toBe(0)
  writeFileSync(join(dir, 'answer.txt'), g.stdout)
  writeFileSync(join(dir, 'human.txt'), 'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is so well fixed in the minds of the surrounding families.\n')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('detect --diagnose', () => {
  test('a width mismatch: plain detect misses, the diagnosis finds h=1 and says so', () => {
    const plain = tm(['detect', '--key', 'h2.tmkey', 'answer.txt'])
    expect(plain.status).toBe(0)
    expect(plain.stdout).toContain('no watermark detected')
    const r = tm(['detect', '--key', 'h2.tmkey', '--diagnose', '--prompt', PROMPT, 'answer.txt'])
    expect(r.status).toBe(0)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines[1]).toMatch(/: 8 configurations tried$/)
    // one line per configuration, the key's own first
    const rows = lines.filter((l) => /^\s+\d+ {2}/.test(l))
    expect(rows.length).toBe(8)
    expect(rows[0]).toContain("the key's configuration")
    expect(rows.find((l) => l.includes('*'))).toContain('lefthash h=1')
    expect(r.stdout).toMatch(/WATERMARK DETECTED: best "lefthash h=1" \(row \d\), p = \S+ × 8 configurations = /)
    expect(lines.at(-1)).toBe("Most likely mismatch: the generator seeded with lefthash h=1, not the key's lefthash h=2 (it was built from another configuration than the key file).")
    expect(r.stdout + r.stderr).not.toContain(secretHead)
  })

  test('--json: every row and the corrected verdict; the factor is the number of rows', () => {
    const r = tm(['detect', '--key', 'h2.tmkey', '--diagnose', '--json', 'answer.txt'])
    expect(r.status).toBe(0)
    const d = JSON.parse(r.stdout) as { rows: { label: string; log10P: number }[]; configurationsTried: number; best: number; log10P: number; detected: boolean }
    expect(d.configurationsTried).toBe(d.rows.length)
    expect(d.rows.length).toBe(7) // no prompt: no "prompt ignored" row
    expect(d.rows[d.best].label).toBe('lefthash h=1')
    expect(d.log10P).toBeCloseTo(d.rows[d.best].log10P + Math.log10(d.rows.length), 9)
    expect(d.detected).toBe(true)
  })

  test('human text: nothing explains a miss that is not one', () => {
    const r = tm(['detect', '--key', 'h1.tmkey', '--diagnose', 'human.txt'])
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('no watermark detected')
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^None of the 7 configurations tried detects the text/)
  })

  test('--jsonl: one diagnosis per line, a line without a scorable token gets an error record', () => {
    const answer = readFileSync(join(dir, 'answer.txt'), 'utf8')
    const input = JSON.stringify({ id: 'a', text: answer, prompt: PROMPT }) + '\n' + JSON.stringify({ id: 'b', text: 'Hi' }) + '\n'
    const r = tm(['detect', '--key', 'h2.tmkey', '--diagnose', '--jsonl', '-'], input)
    expect(r.status).toBe(0)
    const [a, b] = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(a.id).toBe('a')
    expect(a.configurationsTried).toBe(8)
    expect(a.detected).toBe(true)
    expect((b.error as { code: string }).code).toBe('E_NOTHING_TO_SCORE')
  })

  test('bad input: one line on stderr, exit 2', () => {
    for (const args of [
      ['--key', 'h1.tmkey', '--key', 'h2.tmkey'],
      ['--key', 'h1.tmkey', '--window'],
      ['--key', 'h1.tmkey', '--no-dedup'],
      ['--key', 'h1.tmkey', '--show'],
      ['--key', 'missing.tmkey'],
      ['--key', 'h1.tmkey', '--tokenizer', 'nope'],
    ]) {
      const r = tm(['detect', '--diagnose', ...args, 'answer.txt'])
      expect(r.status, args.join(' ')).toBe(2)
      expect(r.stderr).toMatch(/^tokenmark: [^\n]+\n$/)
      expect(r.stdout).toBe('')
    }
    const empty = tm(['detect', '--key', 'h1.tmkey', '--diagnose', '-'], '   \n')
    expect(empty.status).toBe(2)
    expect(empty.stderr).toMatch(/^tokenmark: [^\n]+\n$/)
  })
})
