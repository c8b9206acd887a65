import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { conformanceVectors, sipHashBytes, sipHashWords, sipKeyFromBytes, word, uniformFromWords, KeyedPrf } from '@tokenmark/core'

// Reference vectors from the SipHash paper's test.c (vectors_sip64), key 00..0f, message 00..n-1.
const REFERENCE = [
  '726fdb47dd0e0e31', '74f839c593dc67fd', '0d6c8009d9a94f5a', '85676696d7fb7e2d', 'cf2794e0277187b7',
  '18765564cd99a68d', 'cbc9466e58fee3ce', 'ab0200f58b01d137', '93f5f5799a932462', '9e0082df0ba9e4b0',
  '7a5dbbc594ddb9f3', 'f4b32f46226bada7', '751e8fbc860ee5fb', '14ea5627c0843d90', 'f723ca908e7af2ee',
  'a129ca6149be45e5', '3f2acc7f57c29bdb', '699ae9f52cbe4794', '4bc1b3f0968dd39c', 'bb6dc91da77961bd',
  'bed65cf21aa2ee98', 'd0f2cbb02e3b67c7', '93536795e3a33e88', 'a80c038ccd5ccec8',
]
const hex = (o: Uint32Array) => o[0].toString(16).padStart(8, '0') + o[1].toString(16).padStart(8, '0')
const key = sipKeyFromBytes(Uint8Array.from({ length: 16 }, (_, i) => i))

describe('SipHash-2-4', () => {
  test('matches the reference vectors for messages of 0..23 bytes', () => {
    const out = new Uint32Array(2)
    REFERENCE.forEach((want, n) => {
      sipHashBytes(key, Uint8Array.from({ length: n }, (_, i) => i), out)
      expect(hex(out)).toBe(want)
    })
  })

  test('the word form equals the byte form on little-endian packed u32', () => {
    const a = new Uint32Array(2)
    const b = new Uint32Array(2)
    const words = Uint32Array.from([0, 1, 0xdeadbeef, 200_018, 0xffffffff, 7, 42])
    const bytes = new Uint8Array(words.buffer.slice(0)) // platform is little-endian in CI; checked below
    expect(new Uint8Array(Uint32Array.of(1).buffer)[0]).toBe(1)
    for (let n = 0; n <= words.length; n++) {
      sipHashWords(key, words, 0, n, a)
      sipHashBytes(key, bytes.subarray(0, 4 * n), b)
      expect(hex(a)).toBe(hex(b))
    }
  })
})

describe('candidate words', () => {
  test('are a bijection of the token for a fixed seed and lane', () => {
    const seen = new Set<number>()
    for (let t = 0; t < 50_000; t++) seen.add(word(0x12345678, 0x9abcdef0, t, 0))
    expect(seen.size).toBe(50_000)
  })

  test('green bits are balanced and uncorrelated across contexts (γ = 1/4)', () => {
    let green = 0
    let both = 0
    const n = 200_000
    const thr = 2 ** 30
    for (let t = 0; t < n; t++) {
      const a = word(1, 2, t, 0) < thr
      const b = word(1, 3, t, 0) < thr
      green += a ? 1 : 0
      both += a && b ? 1 : 0
    }
    // Binomial sd at n = 200k, p = 1/4 is ~194; allow 5 sd.
    expect(Math.abs(green - n / 4)).toBeLessThan(5 * Math.sqrt(n * 0.25 * 0.75))
    expect(Math.abs(both - n / 16)).toBeLessThan(5 * Math.sqrt(n * (1 / 16) * (15 / 16)))
  })

  test('uniforms lie strictly inside (0, 1)', () => {
    expect(uniformFromWords(0, 0)).toBeGreaterThan(0)
    expect(uniformFromWords(0xffffffff, 0xffffffff)).toBeLessThan(1)
    expect(-Math.log1p(-uniformFromWords(0xffffffff, 0xffffffff))).toBeLessThan(40)
  })
})

describe('seeding', () => {
  test('lefthash cache returns the same seeds as direct hashing', () => {
    const direct = new KeyedPrf(key, { rule: 'lefthash', context: 5 }) // h > 4: no cache
    const cached = new KeyedPrf(key, { rule: 'lefthash', context: 1 })
    // small ids, ids that grow the h = 1 memo, and ids past its cap
    const ids = Uint32Array.from({ length: 3000 }, (_, i) => ((i * 7919) % 97) + [0, 0, 0, 300_000, 2_000_000][i % 5])
    const ref = new Uint32Array(2)
    for (let i = 1; i < ids.length; i++) {
      cached.setContext(ids, i)
      sipHashWords(key, ids, i - 1, 1, ref)
      expect(cached.seed()).toEqual([ref[0], ref[1]])
    }
    direct.setContext(ids, 10)
    sipHashWords(key, ids, 5, 5, ref)
    expect(direct.seed()).toEqual([ref[0], ref[1]])
  })

  test('fillWords equals setContext + words at every position, for every rule, across memo growth', () => {
    // ids up to 1.2 M (past the h = 1 memo's initial size and its cap), plus a fractional and a negative id
    const ids: number[] = Array.from({ length: 4000 }, (_, i) => (i % 3 === 0 ? (i * 104729) % 1_200_000 : (i * 7919) % 300))
    ids[100] = 1.5
    ids[200] = -1
    for (const seeding of [
      { rule: 'lefthash', context: 1 },
      { rule: 'lefthash', context: 3 },
      { rule: 'lefthash', context: 6 },
      { rule: 'selfhash', context: 3 },
      { rule: 'none', context: 0 },
    ] as const) {
      const batch = new KeyedPrf(key, seeding)
      const single = new KeyedPrf(key, seeding)
      const from = batch.need
      const out = new Uint32Array(2 * (ids.length - from))
      batch.fillWords(ids, from, ids.length, out)
      batch.fillWords(ids, from, ids.length, out) // second pass: every seed from the memo/cache
      for (let p = from; p < ids.length; p++) {
        single.setContext(ids, p)
        single.words(ids[p])
        expect([out[2 * (p - from)], out[2 * (p - from) + 1]]).toEqual([single.w0, single.w1])
      }
    }
  })

  test('selfhash seed is the anchored minimum over the window including the candidate', () => {
    const prf = new KeyedPrf(key, { rule: 'selfhash', context: 3 })
    const ctx = Uint32Array.from([5, 9, 11])
    prf.setContext(ctx, 3) // window: 9, 11, candidate; anchor 11
    const cand = 77
    const u = (w: number) => {
      const o = new Uint32Array(2)
      sipHashWords(key, Uint32Array.of(11, w), 0, 2, o)
      return BigInt(o[0]) * 2n ** 32n + BigInt(o[1])
    }
    const min = [u(9), u(11), u(cand)].reduce((a, b) => (a < b ? a : b))
    const hi = Number(min >> 32n)
    const lo = Number(min & 0xffffffffn)
    expect(prf.lane0(cand)).toBe(word(hi, lo, cand, 0))
  })
})

describe('conformance vectors', () => {
  test('docs/vectors/prf.json is what this build computes', () => {
    const file = fileURLToPath(new URL('../../../docs/vectors/prf.json', import.meta.url))
    const committed = JSON.parse(readFileSync(file, 'utf8'))
    expect(JSON.parse(JSON.stringify(conformanceVectors()))).toEqual(committed)
  })

  test('the SipHash part of the vectors agrees with the paper', () => {
    const v = conformanceVectors().siphash.vectors
    expect(v.slice(0, REFERENCE.length).map((x) => x.tag)).toEqual(REFERENCE)
  })
})
