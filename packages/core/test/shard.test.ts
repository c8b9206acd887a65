import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import {
  CorpusScanner,
  EmissionFilter,
  getTokenizer,
  prepareKey,
  ShardScanner,
  keyFromSecret,
  merkleRoot,
  mergeShardParts,
  mergedResult,
  parseShardSpec,
  shardOf,
  shardPartFromBytes,
  shardPartHash,
  shardPartToBytes,
  readShardSummary,
  PART_HEAD,
  TokenmarkError,
  TupleRouter,
  reduceShard,
  type CorpusResult,
  type WatermarkKey,
} from '@tokenmark/core'
import { coreReadme, runReadmeExample } from './helpers/readme-example.js'

const nodeHashing = { sha256: (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest()) }

const keys: WatermarkKey[] = [
  keyFromSecret(new Uint8Array(32).fill(11), { scheme: 'kgw' }),
  keyFromSecret(new Uint8Array(32).fill(12), { scheme: 'gumbel', params: { context: 2 } }),
  keyFromSecret(new Uint8Array(32).fill(13), { scheme: 'synthid' }),
]

// Few distinct words: texts repeat (context, token) tuples across the corpus, and prompts overlap them.
const WORDS = ['the', 'whale', 'sea', 'grey', 'quiet', 'swam', 'on', 'and', 'mate', 'said', 'ship', 'deep', 'Ahab', 'white', 'harpoon', 'night']
const textArb = fc.array(fc.constantFrom(...WORDS), { minLength: 0, maxLength: 40 }).map((w) => w.join(' '))
const sampleArb = fc.record({ text: textArb, prompt: fc.option(textArb, { nil: undefined }) })
const corpusArb = fc.record({ samples: fc.array(sampleArb, { minLength: 1, maxLength: 12 }), prompts: fc.array(textArb, { maxLength: 3 }), filter: fc.boolean() })

type Corpus = { samples: { text: string; prompt?: string }[]; prompts: string[]; filter?: boolean }

// An emission filter that holds some of the corpus's contexts (a provider's record of what it served).
const filters = new Map<WatermarkKey, EmissionFilter>()
function filterFor(key: WatermarkKey): EmissionFilter {
  let f = filters.get(key)
  if (!f) {
    f = new EmissionFilter({ capacity: 64, falsePositiveRate: 0.2 })
    f.recordResponse(prepareKey(key), getTokenizer(key.config.tokenizer).encode('the whale swam on and the sea was grey and quiet said the mate'))
    filters.set(key, f)
  }
  return f
}

function single(key: WatermarkKey, c: Corpus): CorpusResult {
  const sc = new CorpusScanner(key, { prompts: c.prompts, filter: c.filter ? filterFor(key) : undefined })
  for (const s of c.samples) sc.add(s.text, s.prompt === undefined ? {} : { prompt: s.prompt })
  return sc.result()
}

function sharded(key: WatermarkKey, c: Corpus, count: number) {
  const parts: Uint8Array[] = []
  for (let index = count - 1; index >= 0; index--) {
    const sc = new ShardScanner(key, { index, count }, { prompts: c.prompts, filter: c.filter ? filterFor(key) : undefined })
    for (const s of c.samples) sc.add(s.text, s.prompt === undefined ? {} : { prompt: s.prompt })
    parts.push(shardPartToBytes(sc.part()))
  }
  return { parts, result: mergedResult(mergeShardParts(key, parts)) }
}

describe('sharded exact scans', () => {
  test('merged shards equal the single-process scan bit for bit, for every scheme and shard count (property)', () => {
    fc.assert(
      fc.property(corpusArb, fc.integer({ min: 1, max: 5 }), (c, count) => {
        for (const key of keys) {
          const one = single(key, c)
          const { result } = sharded(key, c, count)
          const { shards, ...rest } = result
          // toEqual uses Object.is on numbers: the statistic, log10 p and e-value must match to the last bit.
          expect(rest).toEqual(one)
          expect(shards.count).toBe(count)
        }
      }),
      { numRuns: 40, seed: 16 },
    )
  })

  test('a watermarked-looking corpus spreads evenly and exercises duplicates and exclusions in every shard', () => {
    const c: Corpus = {
      samples: Array.from({ length: 30 }, (_, i) => ({ text: `the whale swam on and the sea was grey ${WORDS[i % WORDS.length]} and quiet said the mate`, prompt: i % 3 === 0 ? 'the whale swam on and the sea was grey' : undefined })),
      prompts: ['and quiet said the mate'],
    }
    for (const key of keys) {
      const filtered = single(key, { ...c, filter: true })
      expect(filtered.tokensSkipped.filtered).toBeGreaterThan(0)
      expect(sharded(key, { ...c, filter: true }, 3).result).toMatchObject(filtered)
      const one = single(key, c)
      expect(one.tokensSkipped.duplicate).toBeGreaterThan(0)
      expect(one.tokensSkipped.excluded).toBeGreaterThan(0)
      const { shards, ...rest } = sharded(key, c, 4).result
      expect(rest).toEqual(one)
      expect(Object.is(rest.log10P, one.log10P) && Object.is(rest.value, one.value)).toBe(true)
      expect(shards.hashes).toHaveLength(4)
    }
  })

  test('routing texts in blocks and reducing each shard (two phases) equals one process bit for bit (property)', () => {
    fc.assert(
      fc.property(corpusArb, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), (c, count, blocks) => {
        for (const key of keys) {
          const pk = prepareKey(key)
          const filter = c.filter ? filterFor(key) : undefined
          const per = Math.ceil(c.samples.length / blocks)
          const routed = Array.from({ length: blocks }, (_, b) => {
            // Odd blocks hash the corpus digest with node:crypto (RouterOptions.hashing): the same digest as noble's.
            const r = new TupleRouter(pk, count, { tokenizer: getTokenizer(key.config.tokenizer), filter, firstText: b * per, ...(b % 2 === 1 ? { hashing: nodeHashing } : {}) })
            if (b === 0) for (const p of c.prompts) r.excludePrompt(p)
            for (const s of c.samples.slice(b * per, (b + 1) * per)) r.add(s.text, s.prompt)
            return r
          })
          const parts = Array.from({ length: count }, (_, i) =>
            shardPartToBytes(reduceShard(key, { index: i, count }, routed.map((r) => ({ events: r.take(i), counts: r.counts, corpus: r.corpus.bytes() })), { filter: c.filter, settings: routed[0].settings() })),
          )
          const { shards, ...rest } = mergedResult(mergeShardParts(key, parts))
          expect(rest).toEqual(single(key, c))
          expect(shards.count).toBe(count)
          // The same scan whichever way it was split: the fused shards name the same corpus and settings.
          expect(readShardSummary(parts[0]).identity).toEqual(readShardSummary(sharded(key, c, count).parts[0]).identity)
        }
      }),
      { numRuns: 25, seed: 61 },
    )
  })

  test('shards partition the tuples: each tuple value lands in exactly one shard, evenly', () => {
    const counts = new Array(7).fill(0)
    let x = 0x9e3779b9
    for (let i = 0; i < 70000; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0
      // Watermarked text favours large w0 (green bit, Gumbel uniform): shards must stay even anyway.
      counts[shardOf(0x80000000 | x, Math.imul(x, 747796405) >>> 0, 7)]++
    }
    for (const n of counts) expect(Math.abs(n - 10000)).toBeLessThan(500)
    expect(shardOf(0, 0, 7)).toBe(shardOf(0, 1, 7)) // the one canonicalised tuple
  })

  test('the merge records the parts by hash and their Merkle root, and refuses incomplete or mixed sets', () => {
    const key = keys[0]
    const c: Corpus = { samples: [{ text: 'the whale swam on and on through the quiet grey sea' }, { text: 'said the mate to Ahab at night' }], prompts: [] }
    const { parts, result } = sharded(key, c, 3)
    const byIndex = [...parts].reverse() // sharded() writes shard 2 first
    expect(result.shards.hashes).toEqual(byIndex.map(shardPartHash))
    expect(result.shards.merkleRoot).toBe(merkleRoot(byIndex.map(shardPartHash)))
    expect(result.shards.merkleRoot).toMatch(/^[0-9a-f]{64}$/)
    const code = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return (e as TokenmarkError).code
      }
      return 'no error'
    }
    expect(code(() => mergeShardParts(key, parts.slice(1)))).toBe('E_ACCUMULATOR_MISMATCH')
    expect(code(() => mergeShardParts(key, [parts[0], parts[0], parts[1]]))).toBe('E_ACCUMULATOR_MISMATCH')
    const other = sharded(key, { samples: [{ text: 'a different corpus entirely, of other words' }], prompts: [] }, 3).parts
    expect(code(() => mergeShardParts(key, [parts[0], parts[1], other[2]]))).toBe('E_ACCUMULATOR_MISMATCH')
    expect(code(() => mergeShardParts(keys[1], parts))).toBe('E_ACCUMULATOR_MISMATCH')
    const flipped = parts[0].slice()
    flipped[0] ^= 1
    expect(code(() => mergeShardParts(key, [flipped, parts[1], parts[2]]))).toBe('E_ACCUMULATOR_FORMAT')
    const tuple = parts[0].slice()
    tuple[tuple.length - 1] ^= 1 // a byte of the tuples: the head's SHA-256 of them no longer matches
    expect(code(() => mergeShardParts(key, [tuple, parts[1], parts[2]]))).toBe('E_ACCUMULATOR_FORMAT')
  })

  test('a part carries its summary: the merge adds summaries, and the summary is what the tuples give', () => {
    const c: Corpus = { samples: [{ text: 'the whale swam on and on through the quiet grey sea', prompt: 'said the mate' }, { text: 'said the mate to Ahab at night' }], prompts: ['the quiet grey sea'] }
    for (const key of keys) {
      const { parts } = sharded(key, c, 2)
      for (const b of parts) {
        const s = readShardSummary(b)
        const full = shardPartFromBytes(b, prepareKey(key))
        expect(s.tokensScored).toBe(full.accumulator.tokensScored)
        expect(s.tuples).toBe(full.accumulator.seen?.size)
        expect(s.skipped).toEqual({ ...full.accumulator.skipped })
        expect([...s.statistic]).toEqual([...full.accumulator.statisticWords()])
        expect(s.identity.commitment).toBe(key.commitment)
        expect(shardPartHash(b)).toBe(shardPartHash(b.subarray(0, PART_HEAD + 1))) // the name is the head's hash
      }
    }
  })

  test('the merge refuses parts of different scans and says which way they differ', () => {
    const key = keys[1]
    const c: Corpus = { samples: [{ text: 'the whale swam on and on through the quiet grey sea' }, { text: 'said the mate to Ahab at night' }], prompts: [] }
    const parts = sharded(key, c, 2).parts.reverse()
    const message = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return `${(e as TokenmarkError).code}: ${(e as Error).message}`
      }
      return 'no error'
    }
    const shard1 = (opts: { normalize?: boolean; samples?: Corpus['samples']; count?: number; key?: WatermarkKey }) => {
      const sc = new ShardScanner(opts.key ?? key, { index: 1, count: opts.count ?? 2 }, { normalize: opts.normalize })
      for (const s of opts.samples ?? c.samples) sc.add(s.text)
      return shardPartToBytes(sc.part())
    }
    expect(message(() => mergeShardParts(key, [parts[0], shard1({ normalize: false })]))).toMatch(/^E_ACCUMULATOR_MISMATCH: shard 1\/2 is part of another scan: its tokenizer, normalisation or emission filter differ/)
    expect(message(() => mergeShardParts(key, [parts[0], shard1({ samples: [...c.samples].reverse() })]))).toMatch(/^E_ACCUMULATOR_MISMATCH: shard 1\/2 is part of another scan: it read a different corpus/)
    expect(message(() => mergeShardParts(key, [parts[0], shard1({ count: 3 })]))).toMatch(/^E_ACCUMULATOR_MISMATCH: parts of 2 and of 3 shards cannot be merged/)
    const other = keyFromSecret(new Uint8Array(32).fill(12), { scheme: 'gumbel', params: { context: 3 } }) // same secret, other parameters
    expect(message(() => mergeShardParts(key, [parts[0], shard1({ key: other })]))).toMatch(/^E_ACCUMULATOR_MISMATCH: shard 1\/2 was made with a different key/)
    expect(message(() => mergeShardParts(key, parts))).toBe('no error')
  })

  test('Merkle root follows RFC 6962: one leaf is SHA-256(0x00 ‖ h); order matters', () => {
    const h = (c: string) => c.repeat(64)
    expect(merkleRoot([h('a'), h('b')])).not.toBe(merkleRoot([h('b'), h('a')]))
    expect(merkleRoot([h('a'), h('b'), h('c')])).not.toBe(merkleRoot([h('a'), h('b')]))
  })

  test('shard specs are written i/S', () => {
    expect(parseShardSpec('2/5')).toEqual({ index: 2, count: 5 })
    for (const bad of ['5/5', '1', '-1/3', '0/0', 'a/b']) expect(() => parseShardSpec(bad)).toThrow(TokenmarkError)
  })
})

test("the README's sharded-scan example runs and agrees with one process", async () => {
  const code = /## Sharded scans[\s\S]*?```ts\n([\s\S]*?)```/.exec(coreReadme())?.[1]
  expect(code).toBeDefined()
  const logs = await runReadmeExample(code!)
  expect(logs).toHaveLength(1)
  expect(logs[0].slice(0, 2)).toEqual([true, true])
  expect(logs[0][2]).toMatch(/^[0-9a-f]{64}$/)
})
