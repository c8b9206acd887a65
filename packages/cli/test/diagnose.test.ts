/** `detect --diagnose` driven as a user would: the built binary, a real key file, text from the shipped neural model. */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { keyFromSecret, plainSampler, seededRng, watermarkSampler } from '@tokenmark/core'
import { NeuralModel, generate, neuralModelDir, neuralTokenizer, prompts } from '@tokenmark/lab'

const BIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tokenmark-diagnose-'))
const TOKENIZER = join(neuralModelDir(), 'tokenizer.json')
const secret = new Uint8Array(32).fill(42)
const model = NeuralModel.load()

function tm(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: dir })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

beforeAll(() => {
  // The key file says h = 1 (kgw's default); the sampler was misconfigured with h = 2 and the same secret.
  writeFileSync(join(dir, 'k.tmkey'), keyFromSecret(secret, { scheme: 'kgw', tokenizer: 'tinylm' }).toKeyFile())
  const sampling = keyFromSecret(secret, { scheme: 'kgw', tokenizer: 'tinylm', params: { context: 2 } })
  const tokenizer = neuralTokenizer()
  const marked = generate(model, tokenizer, prompts()[2], { maxTokens: 200, sampler: watermarkSampler(sampling, {}, seededRng(1)) })
  const plain = generate(model, tokenizer, prompts()[2], { maxTokens: 200, sampler: plainSampler({}, seededRng(1)) })
  writeFileSync(join(dir, 'marked.txt'), marked.text)
  writeFileSync(join(dir, 'plain.txt'), plain.text)
}, 120_000)
afterAll(() => model.close())

type Diagnosis = { tried: number; correctedLog10P: number; detected: boolean; best: { context: number; tokenizer: string; log10P: number }; alternatives: unknown[] }

describe('tokenmark detect --diagnose', () => {
  test('finds the context-width mismatch that plain detection misses, with p corrected for every alternative tried', () => {
    const plainDetect = JSON.parse(tm(['detect', '--key', 'k.tmkey', '--tokenizer-file', TOKENIZER, '--json', 'marked.txt']).out) as { detected: boolean }
    expect(plainDetect.detected).toBe(false)
    const r = tm(['detect', '--key', 'k.tmkey', '--tokenizer-file', TOKENIZER, '--diagnose', '--json', 'marked.txt'])
    expect(r.code).toBe(0)
    const d = JSON.parse(r.out) as Diagnosis
    expect(d.best.context).toBe(2)
    expect(d.tried).toBe(d.alternatives.length)
    expect(d.tried).toBeGreaterThan(8)
    expect(d.correctedLog10P).toBeCloseTo(d.best.log10P + Math.log10(d.tried), 9)
    expect(d.detected).toBe(true)
    expect(r.out).not.toContain(Buffer.from(secret).toString('base64url'))
  })

  test('does not find a watermark in unwatermarked text and prints the table in human form', () => {
    const d = JSON.parse(tm(['detect', '--key', 'k.tmkey', '--tokenizer-file', TOKENIZER, '--diagnose', '--json', 'plain.txt']).out) as Diagnosis
    expect(d.detected).toBe(false)
    const human = tm(['detect', '--key', 'k.tmkey', '--tokenizer-file', TOKENIZER, '--diagnose', 'plain.txt'])
    expect(human.code).toBe(0)
    expect(human.out).toMatch(/corrected for all \d+ tried/)
  })

  test('rejects a key ring with one line on stderr and exit 2', () => {
    writeFileSync(join(dir, 'o.tmkey'), keyFromSecret(new Uint8Array(32).fill(7), { scheme: 'kgw', tokenizer: 'tinylm' }).toKeyFile())
    const r = tm(['detect', '--key', 'k.tmkey', '--key', 'o.tmkey', '--diagnose', 'plain.txt'])
    expect(r.code).toBe(2)
    expect(r.err.trim()).toBe('tokenmark: --diagnose takes exactly one --key')
  })
})
