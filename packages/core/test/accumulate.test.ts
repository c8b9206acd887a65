import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import {
  Accumulator,
  CorpusScanner,
  createAccumulator,
  EmissionFilter,
  eValueFor,
  keyFromSecret,
  prepareKey,
  scoreTokens,
  seededRng,
  TokenmarkError,
  tokensNeeded,
  testAccumulator,
  TupleSet,
} from '@tokenmark/core'

const key = keyFromSecret(new Uint8Array(32).fill(5), { scheme: 'kgw' })
const gkey = keyFromSecret(new Uint8Array(32).fill(6), { scheme: 'gumbel', params: { context: 2 } })
const pk = prepareKey(key)

const idsArb = fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 0, maxLength: 120 }).map((a) => Uint32Array.from(a))

describe('accumulators', () => {
  test('merge(a, b) equals scoring both inputs into one accumulator (property)', () => {
    fc.assert(
      fc.property(idsArb, idsArb, fc.boolean(), (x, y, dedup) => {
        for (const k of [key, gkey]) {
          const p = prepareKey(k)
          const a = createAccumulator(k, { dedup })
          const b = createAccumulator(k, { dedup })
          const both = createAccumulator(k, { dedup })
          scoreTokens(p, x, a)
          scoreTokens(p, y, b)
          scoreTokens(p, x, both)
          scoreTokens(p, y, both)
          a.merge(b)
          expect(a.tokensTotal).toBe(both.tokensTotal)
          expect(a.tokensScored).toBe(both.tokensScored)
          expect(a.skipped).toEqual(both.skipped)
          expect(a.sum).toBeCloseTo(both.sum, 9)
        }
      }),
      { numRuns: 200, seed: 42 },
    )
  })

  test('bytes round-trip and reject other keys and corruption', () => {
    const acc = createAccumulator(key)
    scoreTokens(pk, Uint32Array.from({ length: 500 }, (_, i) => (i * 31) % 97), acc)
    const bytes = acc.toBytes()
    const back = Accumulator.fromBytes(bytes, pk)
    expect(testAccumulator(back)).toEqual(testAccumulator(acc))
    expect(back.skipped).toEqual(acc.skipped)
    // merging the restored copy into the original adds nothing new: the tuples are the same
    acc.merge(back)
    expect(acc.tokensScored).toBe(back.tokensScored)
    expect(() => Accumulator.fromBytes(bytes, prepareKey(gkey))).toThrow(TokenmarkError)
    expect(() => Accumulator.fromBytes(bytes.subarray(0, bytes.length - 8), pk)).toThrow(/invalid/)
    const bad = bytes.slice()
    bad[0] ^= 1
    expect(() => Accumulator.fromBytes(bad, pk)).toThrow(/magic/)
  })

  test('merging accumulators of different keys is refused', () => {
    expect(() => createAccumulator(key).merge(createAccumulator(gkey))).toThrow(/different keys/)
  })
})

/** Runs the e-process along a null stream and reports whether it ever reached 1/alpha. */
function crosses(kind: 'binomial' | 'gamma', steps: number, alpha: number, seed: number): boolean {
  const rng = seededRng(seed)
  let sum = 0
  for (let t = 1; t <= steps; t++) {
    sum += kind === 'binomial' ? (rng.nextFloat() < 0.25 ? 1 : 0) : -Math.log(1 - rng.nextFloat())
    if (t % 5 !== 0) continue
    const e = kind === 'binomial' ? eValueFor({ kind: 'binomial', p: 0.25, trialsPerToken: 1 }, t, sum) : eValueFor({ kind: 'gamma' }, t, sum)
    if (e.log10E >= -Math.log10(alpha)) return true
  }
  return false
}

describe('e-values', () => {
  test.each(['binomial', 'gamma'] as const)('%s e-process crosses 1/α in at most α of null runs (Ville), checked along the whole path', (kind) => {
    const runs = 1000
    const alpha = 0.05
    let hits = 0
    for (let s = 0; s < runs; s++) if (crosses(kind, 400, alpha, 9000 + s)) hits++
    // E[hits] ≤ 50; 99.9 % binomial quantile of Bin(1000, 0.05) is 73.
    expect(hits).toBeLessThanOrEqual(73)
  })

  test('binomial e-value equals numerical integration of the mixture', () => {
    for (const [n, k] of [[50, 20], [200, 60], [400, 150]]) {
      const p0 = 0.25
      // Simpson's rule on q in [p0, 1] of exp(k ln q + (n−k) ln(1−q) − k ln p0 − (n−k) ln(1−p0)) / (1 − p0)
      const f = (q: number) => (q >= 1 ? 0 : Math.exp(k * Math.log(q / p0) + (n - k) * Math.log((1 - q) / (1 - p0))) / (1 - p0))
      const N = 20000
      const h = (1 - p0) / N
      let s = f(p0) + f(1)
      for (let i = 1; i < N; i++) s += (i % 2 ? 4 : 2) * f(p0 + i * h)
      const want = (s * h) / 3
      const got = eValueFor({ kind: 'binomial', p: p0, trialsPerToken: 1 }, n, k).eValue
      expect(got / want).toBeCloseTo(1, 6)
    }
  })

  test('gamma e-value equals numerical integration of the mixture', () => {
    for (const [n, S] of [[20, 30], [100, 140], [300, 280]]) {
      const f = (l: number) => (l <= 0 ? 0 : Math.exp(n * Math.log(l) + (1 - l) * S))
      const N = 20000
      const h = 1 / N
      let s = f(0) + f(1)
      for (let i = 1; i < N; i++) s += (i % 2 ? 4 : 2) * f(i * h)
      const want = (s * h) / 3
      expect(eValueFor({ kind: 'gamma' }, n, S).eValue / want).toBeCloseTo(1, 6)
    }
  })
})

describe('emission filter', () => {
  test('false-positive rate is near the design rate, and a recorded context is always found', () => {
    const f = new EmissionFilter({ capacity: 20_000, falsePositiveRate: 0.01 })
    const rng = seededRng(3)
    const added: [number, number][] = []
    for (let i = 0; i < 20_000; i++) {
      const c: [number, number] = [rng.nextU32(), rng.nextU32()]
      f.add(c[0], c[1])
      added.push(c)
    }
    for (const [hi, lo] of added) expect(f.hasContext(hi, lo)).toBe(true)
    let fp = 0
    for (let i = 0; i < 100_000; i++) if (f.hasContext(rng.nextU32(), rng.nextU32())) fp++
    expect(fp / 100_000).toBeLessThan(0.015)
    expect(fp / 100_000).toBeGreaterThan(0.005)
    expect(f.bits.byteLength / 20_000).toBeLessThan(1.3) // bytes per recorded context at 1 %
  })

  test('merges by union and round-trips through bytes', () => {
    const a = new EmissionFilter({ capacity: 1000 })
    const b = new EmissionFilter({ capacity: 1000 })
    a.add(1, 2)
    b.add(3, 4)
    const c = EmissionFilter.fromBytes(a.merge(b).toBytes())
    expect(c.hasContext(1, 2) && c.hasContext(3, 4)).toBe(true)
    expect(() => EmissionFilter.fromBytes(new Uint8Array(10))).toThrow(TokenmarkError)
  })

  test('scoring with a filter keeps only tokens whose context the provider served', () => {
    const f = new EmissionFilter({ capacity: 1000 })
    const served = Uint32Array.from([10, 11, 12, 13, 14])
    f.recordResponse(pk, served)
    const acc = createAccumulator(key)
    scoreTokens(pk, Uint32Array.from([10, 11, 99, 12, 50, 13]), acc, { filter: f })
    // served contexts (h = 1) are 10, 11, 12, 13; the tokens after 99 and after 50 have unserved contexts
    expect(acc.tokensScored + acc.skipped.filtered + acc.skipped.noContext).toBe(6)
    expect(acc.skipped.filtered).toBe(2)
  })
})

describe('corpus scanner', () => {
  test('de-duplicates across texts and excludes prompt tuples', () => {
    const s = new CorpusScanner(key)
    s.add('The whale swam on and on through the quiet grey sea.')
    const once = s.result().tokensScored
    s.add('The whale swam on and on through the quiet grey sea.')
    const r = s.result()
    expect(r.tokensScored).toBe(once)
    expect(r.tokensSkipped.duplicate).toBe(once)
    expect(r.texts).toBe(2)
    const p = new CorpusScanner(key, { prompts: ['the quiet grey sea'] })
    p.add('The whale swam on and on through the quiet grey sea.')
    expect(p.result().tokensSkipped.excluded).toBeGreaterThan(0)
    expect(r.eValue).toBeCloseTo(10 ** r.log10E, 12)
  })

  test('tokens needed is the smallest n reaching p < 1e-6 at the observed rate', () => {
    const acc = createAccumulator(key, { dedup: false })
    acc.tokensScored = 1000
    acc.sum = 300 // rate 0.30 vs 0.25
    const n = tokensNeeded(acc.nullModel, acc.tokensScored, acc.sum)!
    expect(n).toBeGreaterThan(1000)
    const at = (m: number) => {
      const a = createAccumulator(key, { dedup: false })
      a.tokensScored = m
      a.sum = Math.round(0.3 * m)
      return testAccumulator(a).log10P
    }
    expect(at(n)).toBeLessThanOrEqual(-6)
    expect(at(Math.floor(n * 0.97))).toBeGreaterThan(-6)
  })
})

describe('exclusions', () => {
  test('TupleSet deletes keep every other member findable (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })), { maxLength: 200 }), fc.array(fc.nat(199)), (items, dels) => {
        const s = new TupleSet(4)
        const ref = new Map<string, [number, number]>()
        for (const [a, b] of items) {
          // small w1 ranges force long probe chains and wrap-around
          const w1 = b % 97
          s.add(a, w1)
          ref.set(`${a},${TupleSet.canon(a, w1)}`, [a, w1])
        }
        const keys = [...ref.keys()]
        for (const d of dels) {
          if (keys.length === 0) break
          const k = keys.splice(d % keys.length, 1)[0]
          const [a, b] = ref.get(k)!
          expect(s.delete(a, b)).toBe(ref.delete(k))
          expect(s.delete(a, b)).toBe(false)
        }
        expect(s.size).toBe(ref.size)
        for (const [a, b] of ref.values()) expect(s.has(a, b)).toBe(true)
      }),
      { numRuns: 300, seed: 7 },
    )
  })

  test('TupleSet.toWords lists the set in ascending (w1, w0) order whatever the insertion order, deletions and table size (property)', () => {
    const sorted = (pairs: [number, number][]) => [...pairs].sort((x, y) => x[1] - y[1] || x[0] - y[0]).flat()
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 2 ** 32 - 40, max: 2 ** 32 - 1 }), fc.nat(2 ** 32 - 1))), { maxLength: 300 }),
        fc.array(fc.nat(299), { maxLength: 40 }),
        fc.nat(2000),
        (items, dels, hint) => {
          // w1 near 0 and near 2^32 crowd the first and last slots: clusters that wrap around the table's end
          const ref = new Map<string, [number, number]>()
          for (const [a, b] of items) ref.set(`${a},${TupleSet.canon(a, b)}`, [a, TupleSet.canon(a, b)])
          const gone = new Set(dels.map((d) => [...ref.keys()][d % Math.max(1, ref.size)]))
          const forward = new TupleSet(4)
          const backward = new TupleSet(hint) // another capacity, the reverse order, then deletions
          for (const [a, b] of items) forward.add(a, b)
          for (const [a, b] of [...items].reverse()) backward.add(a, b)
          for (const k of gone) if (k !== undefined) forward.delete(...(ref.get(k) as [number, number]))
          for (const k of gone) if (k !== undefined) ref.delete(k)
          for (const [a, b] of items) if (!ref.has(`${a},${TupleSet.canon(a, b)}`)) backward.delete(a, b)
          const want = sorted([...ref.values()])
          expect([...forward.toWords()]).toEqual(want)
          expect([...backward.toWords()]).toEqual(want)
        },
      ),
      { numRuns: 300, seed: 11 },
    )
  })

  test('the corpus statistic does not depend on the order of prompts, texts and merges', () => {
    // A prompt that arrives later must also remove tuples that earlier texts already scored.
    const samples: [string, string | undefined][] = [
      ['The whale swam on and on through the quiet grey sea, and the sea was grey and quiet.', undefined],
      ['Quiet grey sea, said the mate, and the whale swam on.', 'the quiet grey sea'],
      ['Nothing in the sea was as grey as the whale that swam.', 'the whale swam on'],
    ]
    const run = (order: number[]) => {
      const sc = new CorpusScanner(key)
      for (const i of order) sc.add(samples[i][0], samples[i][1] === undefined ? {} : { prompt: samples[i][1] })
      return sc
    }
    const a = run([0, 1, 2])
    const b = run([2, 1, 0])
    const c1 = run([0])
    const c2 = run([1, 2])
    c2.merge(c1)
    expect(a.result().tokensSkipped.excluded).toBeGreaterThan(0)
    for (const s of [b, c2]) {
      expect(s.result().tokensScored).toBe(a.result().tokensScored)
      expect(s.result().value).toBe(a.result().value)
    }
    const back = Accumulator.fromBytes(b.accumulator.toBytes(), pk)
    expect(back.excluded.size).toBe(b.accumulator.excluded.size)
    expect(testAccumulator(back)).toEqual(testAccumulator(b.accumulator))
  })
})

describe('tuple sets allocate their table on first write', () => {
  test('a never-written set answers like an empty one, writes never reach another set, and the first table has the capacity an eager one had', () => {
    const a = new TupleSet(16)
    const b = new TupleSet(16)
    expect(a.has(0, 0)).toBe(false)
    expect(a.delete(5, 7)).toBe(false)
    expect(a.toWords()).toEqual(new Uint32Array(0))
    expect(a.add(5, 7)).toBe(true)
    expect(a.byteLength).toBe(32 * 8) // 16 tuples at load 3/4: 32 slots of two u32, as before the table was lazy
    expect(b.has(5, 7)).toBe(false)
    let visited = 0
    b.forEach(() => visited++)
    expect(visited).toBe(0)
    b.addBatch(Uint32Array.of(1, 2, 3, 4), 2, new Uint8Array(2))
    expect(b.byteLength).toBe(32 * 8)
    expect([b.has(1, 2), b.has(3, 4), a.has(1, 2), new TupleSet(16).has(5, 7)]).toEqual([true, true, false, false])
  })
})
