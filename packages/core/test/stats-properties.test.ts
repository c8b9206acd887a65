/**
 * Properties and identities of the tails (monotonicity, bounds, symmetry, recurrences, closed forms),
 * the multiple-testing corrections, and argument checks. Random cases come from fast-check with a fixed seed.
 */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { TokenmarkError } from '../src/errors.js'
import { binomialLogPmf, binomialUpperTailLog10, binomialZScore } from '../src/stats/binomial.js'
import { gammaUpperTailLog10, gammaZScore } from '../src/stats/gamma.js'
import { normalUpperTailLog10 } from '../src/stats/normal.js'
import { bonferroniLog10, pFromLog10, sidakLog10 } from '../src/stats/pvalue.js'
import { lnGamma, log1mExp, logAddExp, logSumExp } from '../src/stats/special.js'

const SEED = 20240611
const LN10 = Math.LN10
const rel = (got: number, want: number): number => Math.abs(got - want) / Math.max(Math.abs(want), 1e-300)
const check = <T extends unknown[]>(prop: fc.IProperty<T>, numRuns = 300) => fc.assert(prop, { seed: SEED, numRuns })

const probability = fc.oneof(
  fc.constantFrom(0.5, 0.25, 0.1, 0.9, 0.001, 0.999),
  fc.double({ min: 1e-6, max: 1 - 1e-6, noNaN: true }),
)

describe('binomial tail properties', () => {
  test('is 0 (p-value 1) for k ≤ 0 and −Infinity for k > n', () => {
    expect(binomialUpperTailLog10(0, 10, 0.3)).toBe(0)
    expect(binomialUpperTailLog10(-5, 10, 0.3)).toBe(0)
    expect(binomialUpperTailLog10(0, 0, 0.3)).toBe(0)
    expect(binomialUpperTailLog10(11, 10, 0.3)).toBe(-Infinity)
    expect(binomialUpperTailLog10(1, 0, 0.3)).toBe(-Infinity)
  })

  test('handles p = 0 and p = 1 as point masses', () => {
    expect(binomialUpperTailLog10(1, 10, 0)).toBe(-Infinity)
    expect(binomialUpperTailLog10(10, 10, 1)).toBe(0)
    expect(binomialLogPmf(0, 10, 0)).toBe(0)
    expect(binomialLogPmf(10, 10, 1)).toBe(0)
  })

  test('is ≤ 0 and non-increasing in k', () => {
    check(
      fc.property(fc.integer({ min: 1, max: 100_000 }), probability, fc.double({ min: 0, max: 1, noNaN: true }), (n, p, f) => {
        const k = Math.floor(f * n)
        const a = binomialUpperTailLog10(k, n, p)
        const b = binomialUpperTailLog10(k + 1, n, p)
        expect(a).toBeLessThanOrEqual(0)
        expect(b).toBeLessThanOrEqual(a)
      }),
    )
  })

  test('is non-decreasing in p', () => {
    check(
      fc.property(fc.integer({ min: 1, max: 50_000 }), fc.double({ min: 0, max: 1, noNaN: true }), probability, probability, (n, f, p1, p2) => {
        const k = Math.max(1, Math.ceil(f * n))
        const [lo, hi] = p1 <= p2 ? [p1, p2] : [p2, p1]
        expect(binomialUpperTailLog10(k, n, lo)).toBeLessThanOrEqual(binomialUpperTailLog10(k, n, hi) * (1 - 1e-12))
      }),
    )
  })

  test('has the closed forms P[X ≥ n] = pⁿ and P[X ≥ 1] = 1 − (1−p)ⁿ', () => {
    check(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), probability, (n, p) => {
        expect(rel(binomialUpperTailLog10(n, n, p), (n * Math.log(p)) / LN10)).toBeLessThan(1e-13)
        const want = log1mExp(n * Math.log1p(-p)) / LN10
        expect(rel(binomialUpperTailLog10(1, n, p), want)).toBeLessThan(1e-12)
      }),
    )
  })

  test('satisfies P_{n,p}[X ≥ k] + P_{n,1−p}[X ≥ n−k+1] = 1 (X ↔ n − X)', () => {
    // Dyadic p so that 1 − p is exact and both sides see the same distribution.
    const dyadic = fc.integer({ min: 1, max: 1023 }).map((i) => i / 1024)
    check(
      fc.property(fc.integer({ min: 1, max: 200_000 }), dyadic, fc.double({ min: 0, max: 1, noNaN: true }), (n, p, f) => {
        const k = Math.min(n, Math.max(1, Math.round(f * n)))
        const a = binomialUpperTailLog10(k, n, p) * LN10
        const b = binomialUpperTailLog10(n - k + 1, n, 1 - p) * LN10
        // the smaller side equals log(1 − e^{larger side}), to 1e−10 relative; once the smaller side is below
        // the normal doubles (e^−708), the larger one carries it only as a subnormal, so then it must just be ≈ 0
        const [small, large] = a < b ? [a, b] : [b, a]
        if (small < -700) expect(large).toBeGreaterThanOrEqual(-1e-300)
        else expect(rel(small, log1mExp(large))).toBeLessThan(1e-10)
      }),
    )
  })

  test('satisfies the recurrence P_n[X ≥ k] = p·P_{n−1}[X ≥ k−1] + (1−p)·P_{n−1}[X ≥ k]', () => {
    check(
      fc.property(fc.integer({ min: 2, max: 1_000_000 }), probability, fc.double({ min: 0, max: 1, noNaN: true }), (n, p, f) => {
        const k = Math.min(n - 1, Math.max(2, Math.round(f * n)))
        const up = (kk: number, nn: number) => binomialUpperTailLog10(kk, nn, p) * LN10
        const lhs = up(k, n)
        if (lhs < -Math.LN2) {
          const rhs = logAddExp(Math.log(p) + up(k - 1, n - 1), Math.log1p(-p) + up(k, n - 1))
          expect(rel(lhs, rhs)).toBeLessThan(1e-10)
        } else {
          // near 1 the identity is checked on the lower tails 1 − P, which satisfy the same recurrence
          const low = (kk: number, nn: number) => log1mExp(up(kk, nn))
          const rhs = logAddExp(Math.log(p) + low(k - 1, n - 1), Math.log1p(-p) + low(k, n - 1))
          if (rhs > -700) expect(rel(low(k, n), rhs)).toBeLessThan(1e-10)
        }
      }),
    )
  })

  test('point probabilities sum to 1', () => {
    for (const [n, p] of [
      [10, 0.3],
      [1000, 0.5],
      [20_000, 0.01],
    ] as const) {
      const terms = Array.from({ length: n + 1 }, (_, k) => binomialLogPmf(k, n, p))
      expect(Math.abs(logSumExp(terms))).toBeLessThan(1e-13)
    }
  })

  test('reports the z-score (k − np)/√(np(1−p)) beside the exact tail', () => {
    expect(binomialZScore(60, 100, 0.5)).toBeCloseTo(2, 14)
    expect(binomialZScore(25, 100, 0.25)).toBe(0)
    expect(binomialZScore(3, 10, 0)).toBe(Infinity)
    expect(binomialZScore(0, 10, 0)).toBe(0)
  })
})

describe('gamma tail properties', () => {
  const shape = fc.oneof(fc.integer({ min: 1, max: 10_000_000 }), fc.double({ min: 1e-6, max: 1e6, noNaN: true }))

  test('is 0 for x ≤ 0 and −Infinity at x = Infinity', () => {
    expect(gammaUpperTailLog10(0, 5)).toBe(0)
    expect(gammaUpperTailLog10(-3, 5)).toBe(0)
    expect(gammaUpperTailLog10(Infinity, 5)).toBe(-Infinity)
  })

  test('is ≤ 0, non-increasing in x and non-decreasing in the shape', () => {
    check(
      fc.property(shape, fc.double({ min: 0, max: 20, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (a, f, g) => {
        const x = f * a + g
        const y = x * (1 + 1e-6) + 1e-9
        const q = gammaUpperTailLog10(x, a)
        expect(q).toBeLessThanOrEqual(0)
        expect(gammaUpperTailLog10(y, a)).toBeLessThanOrEqual(q)
        expect(gammaUpperTailLog10(x, a * 1.001)).toBeGreaterThanOrEqual(q)
      }),
    )
  })

  test('is the exponential tail −x/ln 10 at shape 1', () => {
    check(
      fc.property(fc.double({ min: 1e-300, max: 1e8, noNaN: true }), (x) => {
        expect(rel(gammaUpperTailLog10(x, 1), -x / LN10)).toBeLessThan(1e-13)
      }),
    )
  })

  test('satisfies Q(a+1, x) = Q(a, x) + e^{−x} x^a / Γ(a+1) (DLMF 8.8.6)', () => {
    check(
      fc.property(fc.double({ min: 0.01, max: 1e6, noNaN: true }), fc.double({ min: 0.001, max: 5, noNaN: true }), (a, f) => {
        const x = f * a + 0.001
        const lhs = gammaUpperTailLog10(x, a + 1) * LN10
        const rhs = logAddExp(gammaUpperTailLog10(x, a) * LN10, a * Math.log(x) - x - lnGamma(a + 1))
        // the direct formula for the added term loses ~|a ln x|·1e−16 absolutely, so compare loosely in absolute terms
        expect(Math.abs(lhs - rhs)).toBeLessThan(1e-9 * Math.max(1, Math.abs(rhs)) + 1e-15 * (a * Math.abs(Math.log(x)) + x))
      }),
    )
  })

  test('reports the z-score (x − shape)/√shape beside the exact tail', () => {
    expect(gammaZScore(110, 100)).toBe(1)
    expect(gammaZScore(100, 100)).toBe(0)
  })
})

describe('normal tail properties', () => {
  test('is log10 ½ at 0, 0 at −Infinity and −Infinity at +Infinity', () => {
    expect(rel(normalUpperTailLog10(0), Math.log10(0.5))).toBeLessThan(1e-15)
    expect(normalUpperTailLog10(-Infinity)).toBe(0)
    expect(normalUpperTailLog10(Infinity)).toBe(-Infinity)
  })

  test('satisfies P[Z ≥ z] + P[Z ≥ −z] = 1', () => {
    check(
      fc.property(fc.double({ min: 0, max: 40, noNaN: true }), (z) => {
        const a = normalUpperTailLog10(z) * LN10
        const b = normalUpperTailLog10(-z) * LN10
        expect(rel(b, log1mExp(a))).toBeLessThan(1e-12)
      }),
    )
  })

  test('is non-increasing in z, across the switch between series and continued fraction', () => {
    const zs = [-50, -3.0000001, -3, -2.9999999, -1, 0, 1e-9, 2.9999999, 3, 3.0000001, 10, 1e3, 1e6, 1e100]
    for (let i = 1; i < zs.length; i++) expect(normalUpperTailLog10(zs[i])).toBeLessThanOrEqual(normalUpperTailLog10(zs[i - 1]))
    check(
      fc.property(fc.double({ min: -60, max: 1e5, noNaN: true }), (z) => {
        expect(normalUpperTailLog10(z + Math.max(1e-9, Math.abs(z) * 1e-9))).toBeLessThanOrEqual(normalUpperTailLog10(z))
      }),
    )
  })

  test('follows the Mills-ratio asymptote −z²/2 − ln(z√(2π)) for huge z', () => {
    const z = 1e8
    const want = (-0.5 * z * z - Math.log(z) - 0.5 * Math.log(2 * Math.PI) - 1 / (z * z)) / LN10
    expect(rel(normalUpperTailLog10(z), want)).toBeLessThan(1e-15)
  })
})

describe('p-value conversion and multiple-testing corrections', () => {
  test('pFromLog10 clamps to [0, 1] and underflows to 0 below about −323', () => {
    expect(pFromLog10(-2)).toBeCloseTo(0.01, 17)
    expect(pFromLog10(0)).toBe(1)
    expect(pFromLog10(0.3)).toBe(1)
    expect(pFromLog10(-400)).toBe(0)
    expect(pFromLog10(-Infinity)).toBe(0)
  })

  test('bonferroniLog10 adds log10 m and caps at 0', () => {
    expect(bonferroniLog10(-10, 1000)).toBeCloseTo(-7, 13)
    expect(bonferroniLog10(-100_000, 1e6)).toBe(-99_994)
    expect(bonferroniLog10(-1, 1000)).toBe(0)
    expect(bonferroniLog10(-3, 1)).toBe(-3)
  })

  test('sidakLog10 equals log10(1 − (1 − p)^m) where that is computable directly', () => {
    check(
      fc.property(fc.double({ min: 0.01, max: 0.99, noNaN: true }), fc.integer({ min: 1, max: 50 }), (p, m) => {
        // (1 − p)^m directly, then log(1 − ·) on whichever side keeps its digits
        const lnKeep = m * Math.log1p(-p)
        const direct = (lnKeep < -Math.LN2 ? Math.log1p(-Math.exp(lnKeep)) : Math.log(-Math.expm1(lnKeep))) / LN10
        expect(rel(sidakLog10(Math.log10(p), m), direct)).toBeLessThan(1e-11)
      }),
    )
  })

  test('sidakLog10 equals log10 p + log10 m once p underflows, and stays exact next to 1', () => {
    expect(sidakLog10(-400, 1e6)).toBeCloseTo(-394, 12)
    expect(rel(sidakLog10(-100_000, 12), -100_000 + Math.log10(12))).toBeLessThan(1e-15)
    // p = 1/2, m = 2: 1 − ¼
    expect(rel(sidakLog10(Math.log10(0.5), 2), Math.log10(0.75))).toBeLessThan(1e-15)
    // p = 1 − 1e−20: 1 − p ≈ 1e−20 (so (1 − p)^3 ≈ 1e−60); the corrected p is 1 − 1e−60 up to relative O(1e−20)
    const l = Math.log1p(-1e-20) / LN10
    expect(rel(sidakLog10(l, 3), -1e-60 / LN10)).toBeLessThan(1e-12)
    expect(sidakLog10(0, 5)).toBe(0)
    expect(sidakLog10(-7, 1)).toBe(-7)
  })

  test('Šidák never exceeds Bonferroni and never falls below the uncorrected value', () => {
    check(
      fc.property(fc.double({ min: -1e6, max: 0, noNaN: true }), fc.integer({ min: 1, max: 1e9 }), (l, m) => {
        const s = sidakLog10(l, m)
        expect(s).toBeLessThanOrEqual(bonferroniLog10(l, m) + 1e-12 * Math.abs(l))
        expect(s).toBeGreaterThanOrEqual(l)
        expect(s).toBeLessThanOrEqual(0)
      }),
    )
  })
})

describe('argument checks', () => {
  const bad = (f: () => unknown) => {
    try {
      f()
    } catch (e) {
      expect(e).toBeInstanceOf(TokenmarkError)
      expect((e as TokenmarkError).code).toBe('E_BAD_PARAM')
      return
    }
    throw new Error('expected a TokenmarkError')
  }

  test('rejects a non-integer or negative n, a non-integer k and p outside [0, 1] with E_BAD_PARAM', () => {
    bad(() => binomialUpperTailLog10(1, -1, 0.5))
    bad(() => binomialUpperTailLog10(1, 10.5, 0.5))
    bad(() => binomialUpperTailLog10(1.5, 10, 0.5))
    bad(() => binomialUpperTailLog10(1, 10, 1.5))
    bad(() => binomialUpperTailLog10(1, 10, Number.NaN))
    bad(() => binomialZScore(1, 10, -0.1))
  })

  test('rejects a shape ≤ 0 or infinite and a NaN x or z', () => {
    bad(() => gammaUpperTailLog10(1, 0))
    bad(() => gammaUpperTailLog10(1, Infinity))
    bad(() => gammaUpperTailLog10(Number.NaN, 3))
    bad(() => normalUpperTailLog10(Number.NaN))
    bad(() => lnGamma(0))
  })

  test('rejects NaN p-values and fewer than one hypothesis', () => {
    bad(() => pFromLog10(Number.NaN))
    bad(() => bonferroniLog10(-3, 0))
    bad(() => sidakLog10(-3, 0.5))
    bad(() => sidakLog10(Number.NaN, 3))
  })
})
