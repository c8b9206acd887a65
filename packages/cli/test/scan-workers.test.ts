/**
 * `scan --workers N` through the built binary on a corpus cut into many small blocks
 * (TOKENMARK_SCAN_BLOCK_BYTES): several blocks per thread, read while the threads parse and route, texts with
 * their own prompts, --prompts matched by id (also to a plain-text file's paragraphs) or excluded everywhere,
 * an emission filter, repeats, blank and CRLF lines, a line longer than a block. It must print exactly what
 * `scan` prints — and, on a bad corpus, the same one-line error.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, test } from 'vitest'
import { EmissionFilter, getTokenizer, parseKeyFile, prepareKey, seededRng, watermarkSampler } from '@tokenmark/core'
import { generate, trainReferenceModel } from '@tokenmark/lab'

const BIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tokenmark-scan-workers-'))
const BLOCK = 1024
const env = { ...process.env, TOKENMARK_CACHE: join(dir, 'cache'), TOKENMARK_SCAN_BLOCK_BYTES: String(BLOCK) }

function tm(args: string[], extraEnv: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...env, ...extraEnv }, timeout: 120_000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

const keyFile = join(dir, 'k.tmkey')
const corpus = join(dir, 'answers.jsonl')
const notes = join(dir, 'notes.txt')
const prompts = join(dir, 'prompts.jsonl')
const filter = join(dir, 'served.tmef')
let lines: string[]

beforeAll(() => {
  expect(tm(['keygen', '--scheme', 'kgw', '--out', keyFile]).code).toBe(0)
  const key = parseKeyFile(readFileSync(keyFile, 'utf8'))
  const tk = getTokenizer('o200k_base')
  const model = trainReferenceModel(tk)
  const served = new EmissionFilter({ capacity: 20_000 })
  const texts: string[] = []
  for (let i = 0; i < 16; i++) {
    const prompt = `The whale and the ship, part ${i}.`
    const text = generate(model, tk, prompt, { maxTokens: 50, sampler: watermarkSampler(key, { topK: 50 }, seededRng(i)) }).text
    if (i % 2 === 0) served.recordResponse(prepareKey(key), tk.encode(text), tk.encode(prompt)) // half the answers were served
    texts.push(text)
  }
  writeFileSync(filter, served.toBytes())
  lines = []
  for (let round = 0; round < 5; round++)
    texts.forEach((text, i) => {
      const n = round * texts.length + i
      // own prompts, ids that --prompts names, repeats (every round), blank and CRLF lines
      const rec: Record<string, unknown> = { text: round === 4 ? `${text} ${text}` : text }
      if (n % 7 === 0) rec.prompt = `The whale and the ship, part ${i}.`
      if (n % 5 === 0) rec.id = `a${n % 20}`
      lines.push(JSON.stringify(rec) + (n % 11 === 0 ? '\r' : ''))
      if (n % 13 === 0) lines.push('   ')
    })
  lines.splice(40, 0, JSON.stringify({ text: texts.join(' '), id: 'long' })) // longer than a block
  writeFileSync(corpus, lines.join('\n') + '\n')
  writeFileSync(notes, `${texts[3]}\n\n${texts[5]}\n\n\n${texts[7]}\n`)
  const ps = [
    { id: 'a0', prompt: 'The whale and the ship, part 0.' },
    { id: 'a5', prompt: 'Call me Ishmael.' },
    { id: 'a5', prompt: 'A second prompt for a5: excluded everywhere.' },
    { id: 'long', prompt: 'The whale and the ship, part 3.' },
    { id: 'notes.txt#2', prompt: 'The whale and the ship, part 5.' },
    { id: 'nobody', prompt: 'It was the best of times, it was the worst of times.' },
  ]
  writeFileSync(prompts, ps.map((p) => JSON.stringify(p)).join('\n') + '\n')
}, 120_000)

describe('scan --workers on a corpus of many blocks', () => {
  test('prints exactly what scan prints (JSON and text), with prompts matched and excluded and a filter', () => {
    expect(readFileSync(corpus).length).toBeGreaterThan(12 * BLOCK) // several blocks per thread
    const args = ['scan', '--key', keyFile, '--prompts', prompts, '--filter', filter, '--split', 'paragraphs', corpus, notes]
    const one = tm([...args, '--json'])
    expect(one.err).toBe('')
    expect(one.code).toBe(0)
    const local = JSON.parse(one.out)
    // the corpus exercises every rule a block boundary could break
    expect(local.input).toMatchObject({ files: 2, formats: { jsonl: 1, text: 1 }, globalPrompts: 2 })
    expect(local.input.withPrompts).toBeGreaterThan(12)
    expect(local.tokensSkipped.duplicate).toBeGreaterThan(0)
    expect(local.tokensSkipped.excluded).toBeGreaterThan(0)
    expect(local.tokensSkipped.filtered).toBeGreaterThan(0)
    for (const workers of ['2', '3']) {
      const r = tm([...args, '--json', '--workers', workers])
      expect(r.err).toBe('')
      expect(r.code).toBe(0)
      const { shards, ...result } = JSON.parse(r.out)
      expect(result).toEqual(local)
      expect(shards).toEqual({ count: Number(workers) }) // no part kept, none named
    }
    // the JSON lines from stdin (read in blocks as a pipe delivers them)
    const piped = (extra: string[]) => spawnSync(process.execPath, [BIN, 'scan', '--key', keyFile, '--json', '-', ...extra], { encoding: 'utf8', env, input: readFileSync(corpus) })
    const fromStdin = piped(['--workers', '2'])
    expect(fromStdin.status).toBe(0)
    const { shards: _s, ...stdinResult } = JSON.parse(fromStdin.stdout)
    expect(stdinResult).toEqual(JSON.parse(piped([]).stdout))
    const text = tm(args)
    const threaded = tm([...args, '--workers', '2'])
    expect(threaded.code).toBe(0)
    expect(threaded.out.startsWith(text.out)).toBe(true)
    expect(threaded.out.slice(text.out.length)).toBe('  added up from 2 shards on as many threads (no parts kept: --parts-out writes them with their Merkle root)\n')
  })

  test('with --parts-out, the parts are the bytes `scan --shard i/S` writes: a part is named by its content, whichever way it was made', () => {
    const args = ['scan', '--key', keyFile, '--prompts', prompts, '--filter', filter, '--split', 'paragraphs', corpus, notes]
    const out = join(dir, 'thread-parts')
    // Blocks of 64 KiB: a shard's events arrive in a few large batches, so its table grows along another path.
    const r = tm([...args, '--workers', '3', '--parts-out', out, '--json'], { TOKENMARK_SCAN_BLOCK_BYTES: '65536' })
    expect(r.err).toBe('')
    const { shards } = JSON.parse(r.out)
    expect(shards.hashes).toHaveLength(3)
    // Each by hand reads the whole corpus text by text (other batches, another table growth, another insertion order).
    for (let i = 0; i < 3; i++) {
      const one = tm([...args, '--shard', `${i}/3`, '--out', join(dir, `by-hand-${i}.tmacc`), '--json'])
      expect(one.err).toBe('')
      expect(JSON.parse(one.out).sha256).toBe(shards.hashes[i])
      expect(readFileSync(join(dir, `by-hand-${i}.tmacc`))).toEqual(readFileSync(join(out, `${shards.hashes[i]}.tmacc`)))
    }
    expect(tm([...args, '--workers', '3', '--parts-out', out]).out).toMatch(/\n {2}merged from 3 shards; Merkle root of the parts' SHA-256: [0-9a-f]{64}\n$/)
  })

  test('a bad corpus gets scan\'s one-line error: the first bad file, then its first bad line, wherever the blocks fall', () => {
    const bad = (name: string, content: string | Buffer) => {
      const p = join(dir, name)
      writeFileSync(p, content)
      return p
    }
    const at = (changes: Record<number, string>) => lines.map((l, i) => changes[i] ?? l).join('\n') + '\n'
    const cases: [string[], RegExp][] = [
      // a malformed line deep in the corpus (block ~8), and a later one in another block
      [[bad('late.jsonl', at({ 57: '{"text": "cut off', 75: '{"text": 7}' }))], /late\.jsonl:58: not valid JSON/],
      // a line error early, but NUL bytes later in the same file: the file's fault comes first
      [[bad('nul.jsonl', at({ 3: '{"txt": "no text"}', 70: '{"text": "\0"}' }))], /nul\.jsonl holds NUL bytes/],
      // the first file is fine, the second is not UTF-8 in its last block
      [[corpus, bad('latin1.jsonl', Buffer.concat([Buffer.from(lines.join('\n') + '\n'), Buffer.from([0x7b, 0x22, 0x74, 0xe9, 0x22, 0x7d, 0x0a])]))], /latin1\.jsonl is not UTF-8 text/],
      [[bad('blank.jsonl', '\n  \n\t\n')], /blank\.jsonl holds only whitespace/],
      // the key, tokenizer and filter are loaded by the threads: their errors, in scan's order, after the corpus's
      [['--key', join(dir, 'none.tmkey'), corpus, join(dir, 'missing.jsonl')], /cannot read corpus file .*missing\.jsonl: ENOENT/],
      [['--key', join(dir, 'none.tmkey'), corpus], /cannot read key file .*none\.tmkey: ENOENT/],
      [['--tokenizer', 'nope', '--filter', corpus, corpus], /unknown tokenizer "nope"/],
    ]
    for (const [files, re] of cases) {
      const args = files[0] === '--key' ? files : ['--key', keyFile, ...files]
      const one = tm(['scan', ...args])
      const two = tm(['scan', ...args, '--workers', '2'])
      expect(one.code).toBe(2)
      expect(one.err).toMatch(re)
      expect(two.err).toBe(one.err)
      expect(two.code).toBe(2)
      expect(two.out).toBe('')
      expect(two.err.trim().split('\n')).toHaveLength(1)
    }
  })
})

describe('a corpus of more texts than a function call takes arguments', () => {
  test('140,000 lines: scan reads them all (it spread each file\'s texts into one push, which overflowed the stack) and --workers agrees', () => {
    const many = join(dir, 'many.jsonl')
    writeFileSync(many, Array.from({ length: 140_000 }, (_, i) => JSON.stringify({ text: `Call me ${i}, and the whale ${i % 97} swam on.` })).join('\n') + '\n')
    const one = tm(['scan', '--key', keyFile, many, '--json'], { TOKENMARK_SCAN_BLOCK_BYTES: String(1 << 20) })
    expect(one.err).toBe('')
    const local = JSON.parse(one.out)
    expect(local.texts).toBe(140_000)
    const two = tm(['scan', '--key', keyFile, many, '--json', '--workers', '2'], { TOKENMARK_SCAN_BLOCK_BYTES: String(1 << 20) })
    const { shards: _s, ...threaded } = JSON.parse(two.out)
    expect(threaded).toEqual(local)
  })
})
