/** The CLI driven as a user would: the built binary in a child process, real files, stdin and exit codes. */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, test } from 'vitest'
import { parseKeyFile, seededRng, watermarkSampler } from '@tokenmark/core'
import { generate, trainReferenceModel } from '@tokenmark/lab'
import { getTokenizer } from '@tokenmark/core'

const BIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tokenmark-cli-'))

function tm(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', env: { ...process.env, TOKENMARK_CACHE: join(dir, 'cache') } })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

let keyFile: string
let otherFile: string
let secrets: string[]
let marked: string
let human: string

beforeAll(() => {
  keyFile = join(dir, 'k.tmkey')
  otherFile = join(dir, 'o.tmkey')
  expect(tm(['keygen', '--scheme', 'kgw', '--out', keyFile]).code).toBe(0)
  expect(tm(['keygen', '--scheme', 'kgw', '--out', otherFile]).code).toBe(0)
  secrets = [keyFile, otherFile].map((f) => JSON.parse(readFileSync(f, 'utf8')).secret as string)
  const tk = getTokenizer('o200k_base')
  const model = trainReferenceModel(tk)
  const key = parseKeyFile(readFileSync(keyFile, 'utf8'))
  marked = generate(model, tk, 'The whale', { maxTokens: 220, sampler: watermarkSampler(key, { topK: 100 }, seededRng(3)) }).text
  human = 'Whenever I find myself growing grim about the mouth; whenever it is a damp, drizzly November in my soul; whenever I find myself involuntarily pausing before coffin warehouses, and bringing up the rear of every funeral I meet; then, I account it high time to get to sea as soon as I can.'
}, 120_000)

function noSecrets(text: string) {
  for (const s of secrets) expect(text).not.toContain(s)
}

describe('tokenmark keygen', () => {
  test('writes a key file with mode 0600 and prints public fields with --json', () => {
    const f = join(dir, 'g.tmkey')
    const r = tm(['keygen', '--scheme', 'synthid', '--layers', '20', '--out', f, '--json'])
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out)
    expect(Object.keys(j).sort()).toEqual(['commitment', 'file', 'keyId', 'params', 'scheme', 'tokenizer'])
    expect(j.params.layers).toBe(20)
    expect(statSync(f).mode & 0o777).toBe(0o600)
    expect(r.out).not.toContain(JSON.parse(readFileSync(f, 'utf8')).secret)
  })

  test('refuses to overwrite a key file and rejects bad options with one line and exit 2', () => {
    for (const args of [
      ['keygen', '--out', keyFile],
      ['keygen', '--scheme', 'nope', '--out', join(dir, 'x')],
      ['keygen', '--gamma', '1.5', '--out', join(dir, 'y')],
      ['keygen', '--gamma', 'abc', '--out', join(dir, 'z')],
      ['keygen'],
      ['keygen', '--bogus'],
    ]) {
      const r = tm(args)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.err.trim().split('\n')).toHaveLength(1)
      expect(r.err).toMatch(/^tokenmark: /)
    }
  })
})

describe('tokenmark detect', () => {
  test('detects watermarked text from a file and prints a human summary', () => {
    const f = join(dir, 'marked.txt')
    writeFileSync(f, marked)
    const r = tm(['detect', '--key', keyFile, f])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/WATERMARK DETECTED/)
    noSecrets(r.out)
  })

  test('--json has the documented fields; another key finds nothing', () => {
    const r = tm(['detect', '--key', keyFile, '--json', '-'], marked)
    const j = JSON.parse(r.out)
    for (const k of ['valid', 'detected', 'pValue', 'log10P', 'zScore', 'tokensScored', 'tokensSkipped', 'statistic', 'value', 'scheme', 'params', 'keyId', 'input']) expect(j).toHaveProperty(k)
    expect(j.statistic).toBe('greenCount')
    expect(j.input).toEqual({ files: 1, texts: 1, withPrompts: 0, globalPrompts: 0, split: 'none', formats: { jsonl: 0, text: 1 } })
    expect(j.detected).toBe(true)
    expect(j.log10P).toBeLessThan(-6)
    const o = JSON.parse(tm(['detect', '--key', otherFile, '--json'], marked).out)
    expect(o.detected).toBe(false)
    expect(o.pValue).toBeGreaterThan(1e-3)
  })

  test('--jsonl scores one line per input in one process', () => {
    const input = [JSON.stringify({ id: 'a', text: marked }), JSON.stringify({ id: 'b', text: human }), ''].join('\n')
    const r = tm(['detect', '--key', keyFile, '--jsonl'], input)
    expect(r.code).toBe(0)
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l))
    expect(lines.map((l) => l.id)).toEqual(['a', 'b'])
    expect(lines[0].detected).toBe(true)
    expect(lines[1].detected).toBe(false)
  })

  test('--window, key rings and --no-dedup are reported', () => {
    const j = JSON.parse(tm(['detect', '--key', otherFile, '--key', keyFile, '--window', '--no-dedup', '--json'], human + ' ' + marked).out)
    expect(j.keysTested).toBe(2)
    expect(j.dedup).toBe(false)
    expect(j.window.windowsExamined).toBeGreaterThan(1)
    expect(j.window.startChar).toBeLessThan(j.window.endChar)
    expect(j.window.endChar).toBeLessThanOrEqual((human + ' ' + marked).length)
    // Without de-duplication: not a valid test, whatever the numbers say.
    expect(j.valid).toBe(false)
    expect(j.detected).toBe(false)
    expect(j.anytimeValid).toBe(false)
    expect(j.warnings.join(' ')).toMatch(/not a valid test/)
    const h = tm(['detect', '--key', keyFile, '--no-dedup', '-'], marked)
    expect(h.out).toMatch(/^NOT A VALID TEST/m)
    expect(h.out).not.toMatch(/WATERMARK DETECTED/)
  })

  test('--window gives one verdict from both tests, 2 x the smaller p, naming the test that decided', () => {
    const j = JSON.parse(tm(['detect', '--key', keyFile, '--window', '--json'], human + ' ' + marked).out)
    const smaller = Math.min(j.log10P, j.window.log10P)
    expect(j.decision.log10P).toBeCloseTo(smaller + Math.log10(2), 9)
    expect(j.decision.test).toBe(j.window.log10P < j.log10P ? 'window' : 'text')
    expect(j.detected).toBe(j.decision.log10P <= Math.log10(j.alpha))
  })

  test('no usable text is an error, not "p = 1": empty, whitespace, binary, nothing scorable', () => {
    const rnd = join(dir, 'random.bin')
    writeFileSync(rnd, Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 7919 + 13) % 251)))
    for (const [args, input, why] of [
      [['detect', '--key', keyFile], '', /empty/],
      [['detect', '--key', keyFile], ' \n\n ', /only whitespace/],
      [['detect', '--key', keyFile, rnd], '', /not UTF-8|NUL/],
      [['detect', '--key', keyFile], 'Hi', /could be scored|no tokens/],
      [['scan', '--key', keyFile, '-'], '', /empty/],
      [['scan', '--key', keyFile, rnd], '', /not UTF-8|NUL/],
    ] as [string[], string, RegExp][]) {
      const r = tm(args, input)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.err).toMatch(why)
      expect(r.err.trim().split('\n')).toHaveLength(1)
      expect(r.out).toBe('')
    }
    // One line of --jsonl with nothing to score: an error record, the other lines scored.
    const r = tm(['detect', '--key', keyFile, '--jsonl'], [JSON.stringify({ id: 'a', text: marked }), JSON.stringify({ id: 'b', text: '' })].join('\n'))
    expect(r.code).toBe(0)
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l))
    expect(lines[0].detected).toBe(true)
    expect(lines[1]).toEqual({ id: 'b', error: { code: 'E_NOTHING_TO_SCORE', message: expect.stringMatching(/no tokens/) } })
  })

  test('bad input gets one line on stderr and exit 2, without secrets', () => {
    const bad = join(dir, 'bad.tmkey')
    writeFileSync(bad, JSON.stringify({ ...JSON.parse(readFileSync(keyFile, 'utf8')), version: 9 }))
    for (const [args, input] of [
      [['detect', '--key', join(dir, 'missing.tmkey')], 'x'],
      [['detect', '--key', bad], 'x'],
      [['detect', '--key', keyFile, '--alpha', '2'], 'x'],
      [['detect', '--key', keyFile, '--jsonl'], 'not json\n'],
      [['detect', '--key', keyFile, '--jsonl'], '{"id":1}\n'],
      [['detect', '--key', keyFile, '--tokenizer', 'nope'], 'x'],
      [['detect'], 'x'],
    ] as [string[], string][]) {
      const r = tm(args, input)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.err.trim().split('\n')).toHaveLength(1)
      noSecrets(r.err)
    }
  })

  test('special-token strings in untrusted text are ordinary text', () => {
    const r = tm(['detect', '--key', keyFile, '--json'], 'Hello <|endoftext|> world <|im_start|> again, and more words here.')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out).tokensTotal).toBeGreaterThan(5)
  })
})

describe('tokenmark demo', () => {
  test('makes a key, watermarks, detects, and shows another key finds nothing', () => {
    const r = tm(['demo', '--dir', mkdtempSync(join(tmpdir(), 'tm-demo-'))])
    expect(r.code).toBe(0)
    const lines = r.out.split('\n')
    expect(lines.find((l) => l.includes('watermarked text, provider key'))).toMatch(/DETECTED/)
    expect(lines.find((l) => l.includes('watermarked text, other key'))).toMatch(/not detected/)
    expect(lines.find((l) => l.includes('unwatermarked text, provider key'))).toMatch(/not detected/)
  })
})

describe('Hugging Face tokenizer files', () => {
  /** GPT-2's byte → printable-character map, so a byte-level BPE with no merges is a valid tokenizer.json. */
  function byteLevelTokenizerJson(): string {
    const bs: number[] = []
    for (let b = 33; b <= 126; b++) bs.push(b)
    for (let b = 161; b <= 172; b++) bs.push(b)
    for (let b = 174; b <= 255; b++) bs.push(b)
    const cs = [...bs]
    let n = 0
    for (let b = 0; b < 256; b++) if (!bs.includes(b)) (bs.push(b), cs.push(256 + n++))
    const vocab: Record<string, number> = {}
    bs.forEach((b, i) => (vocab[String.fromCodePoint(cs[i])] = b))
    return JSON.stringify({
      version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: null,
      decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
    })
  }

  test('keygen and detect accept --tokenizer-file; the key records the file fingerprint', () => {
    const tf = join(dir, 'tokenizer.json')
    writeFileSync(tf, byteLevelTokenizerJson())
    const kf = join(dir, 'hf.tmkey')
    const g = tm(['keygen', '--scheme', 'unigram', '--tokenizer-file', tf, '--out', kf, '--json'])
    expect(g.code).toBe(0)
    expect(JSON.parse(g.out).tokenizer).toMatch(/^huggingface:/)
    const r = tm(['detect', '--key', kf, '--tokenizer-file', tf, '--json'], 'plain bytes here')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out).tokensTotal).toBe('plain bytes here'.length)
    const missing = tm(['detect', '--key', kf], 'plain bytes here')
    expect(missing.code).toBe(2)
    expect(missing.err).toMatch(/^tokenmark: .*tokenizer/)
  })
})
