/**
 * Tail probabilities against independent values, to 1e−9 relative in log10 p:
 * - binomial tails summed exactly here in BigInt rational arithmetic (p is the exact rational value of the
 *   double the function receives);
 * - gamma tails with integer shape from the closed form Q(T, x) = e^{−x} Σ_{j<T} x^j / j!, evaluated in
 *   BigInt fixed point;
 * - mpmath values at 60–80 digits for n up to 1e7, far tails, shapes to 1e7 and z to 1e10
 *   (fixtures/tails.json, written by fixtures/gen_tails.py).
 */
import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { binomialUpperTailLog10 } from '../src/stats/binomial.js'
import { gammaUpperTailLog10 } from '../src/stats/gamma.js'
import { normalUpperTailLog10 } from '../src/stats/normal.js'
import { lnGamma } from '../src/stats/special.js'

const REL = 1e-9

/** The smallest normal double: below it a double carries fewer than 53 bits, so errors are measured against it. */
const MIN_NORMAL = 2.2250738585072014e-308

/** Relative error of a log10 p-value (relative to MIN_NORMAL where the reference is subnormal or 0). */
function relErr(got: number, want: number): number {
  if (want === -Infinity) return got === -Infinity ? 0 : Infinity
  return Math.abs(got - want) / Math.max(Math.abs(want), MIN_NORMAL)
}

// ---------------------------------------------------------------- exact rational helpers

/** The exact value of a positive finite double as num/den with den a power of two. */
function exactRational(x: number): [bigint, bigint] {
  let m = x
  let e = 0
  while (!Number.isInteger(m)) {
    m *= 2 // exact
    e++
  }
  return [BigInt(m), 1n << BigInt(e)]
}

const bitLength = (x: bigint): number => x.toString(2).length

/** ln(num/den) for 0 < num, den: divide with 64 extra bits, then ln of a 64-bit quotient. */
function lnRatio(num: bigint, den: bigint): number {
  const shift = bitLength(den) - bitLength(num) + 64
  const q = shift >= 0 ? (num << BigInt(shift)) / den : num / (den << BigInt(-shift))
  return Math.log(Number(q)) - shift * Math.LN2
}

/** log10(num/den) for 0 ≤ num ≤ den; a fraction above ½ goes through its complement to keep digits. */
function log10Fraction(num: bigint, den: bigint): number {
  if (num === 0n) return -Infinity
  const rest = den - num
  if (rest === 0n) return 0
  if (2n * rest < den) return Math.log1p(-Math.exp(lnRatio(rest, den))) / Math.LN10
  return lnRatio(num, den) / Math.LN10
}

/**
 * Exact log10 P[X ≥ k] for every k = 0..n+1, X ~ Bin(n, a/b): suffix sums of C(n,i) a^i (b−a)^(n−i) over b^n.
 */
function exactBinomialTails(n: number, p: number): number[] {
  const [a, b] = exactRational(p)
  const c = b - a
  const cPow: bigint[] = [1n]
  for (let i = 1; i <= n; i++) cPow.push(cPow[i - 1] * c)
  const terms: bigint[] = []
  let choose = 1n
  let aPow = 1n
  for (let i = 0; i <= n; i++) {
    terms.push(choose * aPow * cPow[n - i])
    choose = (choose * BigInt(n - i)) / BigInt(i + 1)
    aPow *= a
  }
  const den = b ** BigInt(n)
  const out = new Array<number>(n + 2)
  out[n + 1] = -Infinity
  let suffix = 0n
  for (let k = n; k >= 0; k--) {
    suffix += terms[k]
    out[k] = log10Fraction(suffix, den)
  }
  return out
}

/**
 * Exact log10 Q(T, x) = log10 P[Poisson(x) ≤ T − 1] for integer T and the exact rational value of x,
 * in fixed point with `bits` fractional bits: t_j = x^j / j! (floored), Q = Σ_{j<T} t_j / Σ_j t_j.
 * Floors cost at most one unit per term, far below `bits` for the cases used.
 */
function exactGammaTail(T: number, x: number, bits: number): number {
  const [u, v] = exactRational(x)
  let t = 1n << BigInt(bits)
  let below = 0n
  let above = 0n
  for (let j = 0; ; j++) {
    if (j < T) below += t
    else above += t
    t = (t * u) / (v * BigInt(j + 1))
    if (t === 0n && j + 1 > x) break
  }
  return log10Fraction(below, below + above)
}

// ---------------------------------------------------------------- fixtures

interface Tails {
  binomial: { n: number; k: number; p: number; log10p: number }[]
  gamma: { shape: number; x: number; log10p: number }[]
  normal: { z: number; log10p: number }[]
  lnGamma: { x: number; value: number }[]
}
const tails = JSON.parse(readFileSync(new URL('./fixtures/tails.json', import.meta.url), 'utf8')) as Tails

function worst<T>(rows: T[], got: (r: T) => number, want: (r: T) => number): { err: number; row?: T; got?: number } {
  let out: { err: number; row?: T; got?: number } = { err: 0 }
  for (const r of rows) {
    const g = got(r)
    const e = relErr(g, want(r))
    if (!(e <= out.err)) out = { err: e, row: r, got: g }
  }
  return out
}

// ---------------------------------------------------------------- binomial

describe('binomialUpperTailLog10', () => {
  test.each([
    [1, 0.5],
    [7, 0.25],
    [50, 0.5],
    [200, 0.125],
    [1000, 0.25],
    [1000, 0.9375],
    [3000, 0.5],
    [3000, 0.25],
    [3000, 0.75],
  ])('equals the exact BigInt tail at every k for n = %i, p = %d (dyadic p)', (n, p) => {
    const exact = exactBinomialTails(n, p)
    const rows = exact.map((want, k) => ({ k, want }))
    const w = worst(rows, (r) => binomialUpperTailLog10(r.k, n, p), (r) => r.want)
    expect(w.err, JSON.stringify(w)).toBeLessThanOrEqual(REL)
  })

  test.each([
    [100, 0.1],
    [400, 0.1],
    [400, 0.9],
    [300, 1 / 3],
    [500, 0.001],
  ])('equals the exact tail of the double p at every k for n = %i, p = %d (non-dyadic p)', (n, p) => {
    const exact = exactBinomialTails(n, p)
    const rows = exact.map((want, k) => ({ k, want }))
    const w = worst(rows, (r) => binomialUpperTailLog10(r.k, n, p), (r) => r.want)
    expect(w.err, JSON.stringify(w)).toBeLessThanOrEqual(REL)
  })

  test('matches mpmath (incomplete beta, 60 digits) for n up to 1e7, p in {0.5, 0.25, 0.1, 0.9}, far tails included', () => {
    expect(tails.binomial.length).toBeGreaterThan(300)
    expect(Math.max(...tails.binomial.map((r) => r.n))).toBe(1e7)
    const w = worst(tails.binomial, (r) => binomialUpperTailLog10(r.k, r.n, r.p), (r) => r.log10p)
    expect(w.err, JSON.stringify(w)).toBeLessThanOrEqual(REL)
  })

  test('gives n·log10 p for k = n far below the smallest double (n = 1e6, p = ¼ → −602059.99…)', () => {
    const got = binomialUpperTailLog10(1e6, 1e6, 0.25)
    expect(relErr(got, -602059.9913279624)).toBeLessThanOrEqual(1e-15)
    expect(relErr(binomialUpperTailLog10(1e7, 1e7, 0.5), -3010299.956639812)).toBeLessThanOrEqual(1e-15)
  })
})

// ---------------------------------------------------------------- gamma

describe('gammaUpperTailLog10', () => {
  const cases: [number, number][] = []
  for (const T of [1, 2, 5, 30, 100, 500, 2000]) {
    const sd = Math.sqrt(T)
    for (const x of [0.01 * T, T - 3 * sd, T - 0.5, T, T + 0.5, T + 1, T + 3 * sd, 2 * T, 10 * T]) {
      if (x > 0) cases.push([T, Math.round(x * 8) / 8 || 0.125])
    }
  }
  cases.push([3, 1e-3], [1, 700], [50, 1500.75])

  test.each(cases)('equals the closed-form Poisson sum (BigInt fixed point) for T = %i, x = %d', (T, x) => {
    const want = exactGammaTail(T, x, 4096)
    const got = gammaUpperTailLog10(x, T)
    expect(relErr(got, want), `got ${got}, want ${want}`).toBeLessThanOrEqual(REL)
  })

  test('matches mpmath for shapes 1e−8 … 1e7 and x from 1e−300 to 100·shape', () => {
    expect(Math.max(...tails.gamma.map((r) => r.shape))).toBe(1e7)
    const w = worst(tails.gamma, (r) => gammaUpperTailLog10(r.x, r.shape), (r) => r.log10p)
    expect(w.err, JSON.stringify(w)).toBeLessThanOrEqual(REL)
  })

  test('stays exact in the far tail x = 10·shape at shape = 1e5', () => {
    const row = tails.gamma.find((r) => r.shape === 1e5 && r.x === 1e6)
    expect(row).toBeDefined()
    expect(row!.log10p).toBeLessThan(-290000)
    expect(relErr(gammaUpperTailLog10(1e6, 1e5), row!.log10p)).toBeLessThanOrEqual(REL)
  })
})

// ---------------------------------------------------------------- normal

describe('normalUpperTailLog10', () => {
  test('matches mpmath erfc from z = −40 to z = 1e10', () => {
    expect(tails.normal.some((r) => r.z === 1e4)).toBe(true)
    const w = worst(tails.normal, (r) => normalUpperTailLog10(r.z), (r) => r.log10p)
    expect(w.err, JSON.stringify(w)).toBeLessThanOrEqual(REL)
  })

  test('gives log10 P ≈ −2.1715e7 at z = 1e4, where P is far below the smallest double', () => {
    expect(relErr(normalUpperTailLog10(1e4), -21714728.49425253)).toBeLessThanOrEqual(1e-14)
  })
})

// ---------------------------------------------------------------- ln Γ

describe('lnGamma', () => {
  test('matches mpmath loggamma to 1e−14 relative, including next to the roots at 1 and 2', () => {
    const w = worst(tails.lnGamma, (r) => lnGamma(r.x), (r) => r.value)
    expect(w.err, JSON.stringify(w)).toBeLessThanOrEqual(1e-14)
  })

  test('is exactly ln n! at small integers', () => {
    let f = 1
    for (let n = 1; n <= 20; n++) {
      f *= n
      expect(relErr(lnGamma(n + 1), Math.log(f)), `n = ${n}`).toBeLessThanOrEqual(1e-15)
    }
  })
})
