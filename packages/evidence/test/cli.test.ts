/**
 * The report and verify commands driven as a user would: the built `tokenmark` binary in a temp
 * directory (npm test builds first). Exit codes, files, modes and messages.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { corpus, watermarkKey } from './fixtures.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..')
const bin = join(root, 'packages/cli/dist/main.js')
const dir = mkdtempSync(join(tmpdir(), 'tm-evidence-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

describe.skipIf(!existsSync(bin))('tokenmark report / verify / keygen --signing', () => {
  writeFileSync(join(dir, 'wm.key'), watermarkKey.toKeyFile(), { mode: 0o600 })
  const marked = corpus(6, 60, 41, watermarkKey)
  writeFileSync(join(dir, 'suspect.jsonl'), marked.map((text, i) => JSON.stringify({ id: `s${i}`, text })).join('\n') + '\n')
  writeFileSync(join(dir, 'one.txt'), corpus(1, 60, 42, watermarkKey)[0])
  writeFileSync(join(dir, 'prompts.txt'), marked[0].slice(0, 80) + '\n')

  it('keygen --signing writes a 0600 secret and a public key, and prints neither secret', () => {
    const r = run('keygen', '--signing', '--out', 'signer.key')
    expect(r.code).toBe(0)
    expect(statSync(join(dir, 'signer.key')).mode & 0o777).toBe(0o600)
    const secret = (JSON.parse(readFileSync(join(dir, 'signer.key'), 'utf8')) as { secret: string }).secret
    expect(r.out + r.err).not.toContain(secret)
    expect(readFileSync(join(dir, 'signer.key.pub'), 'utf8')).not.toContain(secret)
    expect(r.out).toMatch(/signer id\s+tms_[0-9a-f]{16}/)
    expect(run('keygen', '--signing', '--out', 'signer.key').code).toBe(2)
  })

  it('report writes the HTML report and a bundle that verify accepts, with and without the watermark key', () => {
    const r = run('report', '--key', 'wm.key', '--signing-key', 'signer.key', '--prompts', 'prompts.txt', '--out', 'report.html', '--bundle', 'case.tmev', '--title', 'Test case', 'suspect.jsonl', 'one.txt')
    expect(r.err).not.toMatch(/internal error/)
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/WATERMARK DETECTED: p = /)
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('Test case')

    const v = run('verify', 'case.tmev', '--public-key', 'signer.key.pub', '--key', 'wm.key', '--json')
    expect(v.code).toBe(0)
    const j = JSON.parse(v.out) as { valid: boolean; checks: { id: string; status: string }[] }
    expect(j.valid).toBe(true)
    expect(j.checks.map((c) => `${c.id}:${c.status}`)).toEqual(['format:pass', 'signer:pass', 'signature:pass', 'inputs:pass', 'commitment:pass', 'recompute:pass'])
    const human = run('verify', 'case.tmev', '--public-key', 'signer.key.pub')
    expect(human.code).toBe(0)
    expect(human.out).toMatch(/^VALID/)

    expect(run('report', '--key', 'wm.key', '--signing-key', 'signer.key', '--out', 'report.md', 'suspect.jsonl').code).toBe(0)
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/^# Watermark attribution report/)
  })

  it('verify exits 1 on a changed byte and says what failed', () => {
    const b = readFileSync(join(dir, 'case.tmev'))
    b[Math.floor(b.length / 2)] ^= 0x20
    writeFileSync(join(dir, 'bad.tmev'), b)
    const v = run('verify', 'bad.tmev', '--public-key', 'signer.key.pub', '--json')
    expect(v.code).toBe(1)
    const j = JSON.parse(v.out) as { valid: boolean; checks: { status: string; message: string }[] }
    expect(j.valid).toBe(false)
    expect(j.checks.some((c) => c.status === 'fail' && c.message.length > 20)).toBe(true)
  })

  it('bad input is one line and exit 2', () => {
    const cases = [
      run('verify', 'missing.tmev', '--public-key', 'signer.key.pub'),
      run('verify', 'case.tmev', '--public-key', 'wm.key'),
      run('report', '--key', 'wm.key', '--signing-key', 'wm.key', '--out', 'x.html', 'suspect.jsonl'),
      run('report', '--key', 'wm.key', '--signing-key', 'signer.key', '--out', 'x.html', '--format', 'pdf', 'suspect.jsonl'),
    ]
    for (const c of cases) {
      expect(c.code).toBe(2)
      expect(c.err.trim().split('\n')).toHaveLength(1)
      expect(c.err).toMatch(/^tokenmark: /)
    }
    expect(cases[2].err).toMatch(/this is a watermark key/)
  })
})
