import fc from 'fast-check'
import { expect, test } from 'vitest'
import { ExactSum } from '../src/stats/exactsum.js'

// Exact reference: every addend is a multiple of 2^-130 (the grid), so BigInt arithmetic on 2^130·x is exact.
const GRID = 130n
function bigOf(x: number): bigint {
  const w = Math.floor(x)
  let r = x - w
  let v = BigInt(w)
  for (let j = 0; j < 5; j++) {
    r *= 2 ** 26
    const d = Math.floor(r)
    r -= d
    v = (v << 26n) + BigInt(d)
  }
  return v
}

const addend = fc.oneof(
  fc.double({ min: 0, max: 40, noNaN: true }),
  fc.double({ min: 0, max: 1e-12, noNaN: true }),
  fc.integer({ min: 0, max: 1e6 }),
)

test('the sum does not depend on the order of additions and subtractions (property)', () => {
  fc.assert(
    fc.property(fc.array(addend, { maxLength: 200 }), fc.array(fc.nat(), { maxLength: 200 }), (xs, perm) => {
      const a = new ExactSum()
      for (const x of xs) a.add(x)
      const ys = [...xs]
      for (let i = ys.length - 1; i > 0; i--) {
        const j = (perm[i] ?? i) % (i + 1)
        ;[ys[i], ys[j]] = [ys[j], ys[i]]
      }
      const b = new ExactSum()
      b.add(7.25) // added and removed again: subtraction is exact too
      for (const y of ys) b.add(y)
      b.subtract(7.25)
      expect(Object.is(a.value(), b.value())).toBe(true)
      // and it is the exact sum, rounded: within one unit in the last place of a double
      const exact = xs.reduce((s, x) => s + bigOf(x), 0n)
      const approx = Number(exact) / 2 ** Number(GRID)
      expect(Math.abs(a.value() - approx)).toBeLessThanOrEqual(Math.abs(approx) * 2 ** -51 + 2 ** -1000)
    }),
    { numRuns: 300, seed: 16 },
  )
})

test('a single addend reads back as itself, and addSum equals adding one by one', () => {
  for (const x of [0, 2 ** -106, 0.1, 1 / 3, 36.7368005696771, 123456.789]) {
    const e = new ExactSum()
    e.add(x)
    expect(e.value()).toBe(x)
  }
  const tiny = new ExactSum()
  tiny.add(1e-300) // below the 2^-130 grid: dropped, as docs/spec.md#exact-sum says
  expect(tiny.value()).toBe(0)
  const a = new ExactSum()
  const b = new ExactSum()
  const all = new ExactSum()
  for (let i = 1; i <= 1000; i++) {
    const x = -Math.log1p(-i / 1001)
    ;(i % 2 ? a : b).add(x)
    all.add(x)
  }
  a.addSum(b)
  expect(Object.is(a.value(), all.value())).toBe(true)
})

test('toWords is the exact sum (a part summary): adding words equals adding the sums, and malformed words are refused', () => {
  const a = new ExactSum()
  const b = new ExactSum()
  const all = new ExactSum()
  for (let i = 1; i <= 500; i++) {
    const x = -Math.log1p(-i / 501)
    ;(i % 3 ? a : b).add(x)
    all.add(x)
  }
  const merged = new ExactSum()
  merged.addWords(a.toWords())
  merged.addWords(b.toWords())
  expect([...merged.toWords()]).toEqual([...all.toWords()])
  expect(Object.is(merged.value(), all.value())).toBe(true)
  for (const bad of [new Float64Array(5), Float64Array.of(1, 2 ** 26, 0, 0, 0, 0), Float64Array.of(-1, 0, 0, 0, 0, 0), Float64Array.of(0, 0.5, 0, 0, 0, 0)]) {
    expect(() => new ExactSum().addWords(bad)).toThrow(RangeError)
  }
})
