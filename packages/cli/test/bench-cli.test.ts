/** tokenmark bench driven as a user would: the built binary, a real file, exit codes. */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'

const BIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tokenmark-bench-cli-'))

function tm(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', cwd: dir })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

describe('tokenmark bench', () => {
  test('measures detect against encode on a given text with a given key, as JSON', () => {
    expect(tm(['keygen', '--scheme', 'synthid', '--out', 'k.tmkey']).code).toBe(0)
    writeFileSync(join(dir, 't.txt'), 'It was the best of times, it was the worst of times. '.repeat(40))
    const r = tm(['bench', '--key', 'k.tmkey', '--seconds', '0.3', '--json', 't.txt'])
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out) as Record<string, unknown> & { text: { chars: number; tokens: number } }
    expect(j.scheme).toBe('synthid')
    expect(j.tokenizer).toBe('o200k_base')
    expect(j.text.chars).toBe(2120)
    expect(j.text.tokens).toBeGreaterThan(400)
    for (const f of ['detectCharsPerSecond', 'encodeCharsPerSecond', 'scoreTokensPerSecond']) expect(j[f]).toBeGreaterThan(1000)
    // detection includes an encode, so it cannot be much faster than encoding alone
    expect(j.detectOverEncode).toBeGreaterThan(0.05)
    expect(j.detectOverEncode).toBeLessThan(1.5)
    expect(r.out).not.toContain('secret')
  }, 60_000)

  test('defaults to Moby-Dick and a throwaway key, with a human summary', () => {
    const r = tm(['bench', '--seconds', '0.3'])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/Moby-Dick \(60,000 characters\), 60000 characters, \d+ tokens \(o200k_base\)/)
    expect(r.out).toMatch(/detect \/ tokenizer +\d\.\d{3}×/)
    expect(r.out).toContain('(throwaway)')
  }, 60_000)

  test('bad input: one line on stderr, exit 2', () => {
    for (const args of [['bench', '--seconds', '0'], ['bench', '--scheme', 'nope'], ['bench', '--seconds', '0.3', 'missing.txt']]) {
      const r = tm(args)
      expect(r.code).toBe(2)
      expect(r.err.trim().split('\n')).toHaveLength(1)
      expect(r.err).toMatch(/^tokenmark: /)
    }
    const short = tm(['bench', '--seconds', '0.3', '-'], 'a')
    expect(short.code).toBe(2)
    expect(short.err).toContain('too short')
  })
})
