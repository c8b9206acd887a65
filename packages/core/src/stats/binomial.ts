/**
 * Binomial tail probabilities in log space — the exact test behind green-list counts (KGW, unigram) and
 * SynthID bit counts.
 *
 * Null hypothesis: the n scored observations are independent Bernoulli(p) trials (for a green-list scheme,
 * p = γ, the green fraction), so the count X ~ Bin(n, p). The p-value of an observed count k is P[X ≥ k].
 *
 * Method. Both tails are written as a point probability times a sum of positive terms:
 *   P[X ≥ k]     = P[X = k]   · Σ_{j≥0} Π_{i=k}^{k+j−1}  (n − i) p / ((i + 1) q)
 *   P[X ≤ k − 1] = P[X = k−1] · Σ_{j≥0} Π_{i=k−j}^{k−1}   i q / ((n − i + 1) p)
 * (the ratio of consecutive binomial probabilities; e.g. Johnson, Kemp & Kotz, "Univariate Discrete
 * Distributions", 3rd ed., §3.2). Above the mean we sum the upper tail, at or below it the lower tail and return
 * log(1 − lower); in both cases every ratio is < 1 and decreasing, so the sum converges geometrically, is free of
 * cancellation, and stops with a rigorous bound on the remainder. The number of terms is O(√(npq)) — about
 * 15 000 at n = 1e7, p = ½ — which is fine for a function called once per result.
 * The point probability is Loader's saddle-point form (C. Loader, "Fast and accurate computation of binomial
 * probabilities", 2000, eq. (5)), ln P[X = x] = stirlerr(n) − stirlerr(x) − stirlerr(n−x) − bd0(x, np)
 * − bd0(n−x, nq) − ½ ln(2π x (n−x)/n), which has no cancellation between terms of size n ln n.
 * Against exact rational sums and mpmath (packages/core/test/stats.test.ts) the relative error of log10 P is
 * at most ~3e−13 for n ≤ 1e7, and ~2e−13 at n = 1e9.
 */
import { TokenmarkError } from '../errors.js'
import { bd0, LN10, LN_2PI, log1mExp, stirlerr } from './special.js'

/** Stop summing once the remainder bound is below this fraction of the sum. */
const SUM_TOL = 2 ** -60

function checkArgs(fn: string, k: number, n: number, p: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new TokenmarkError('E_BAD_PARAM', `${fn}: n must be a non-negative integer, got ${n}`)
  }
  if (!Number.isSafeInteger(k)) throw new TokenmarkError('E_BAD_PARAM', `${fn}: k must be an integer, got ${k}`)
  if (!(p >= 0 && p <= 1)) throw new TokenmarkError('E_BAD_PARAM', `${fn}: p must be in [0, 1], got ${p}`)
}

/** ln P[X = x] for 0 ≤ x ≤ n, 0 < p < 1, q = 1 − p (Loader 2000, dbinom_raw). */
function lnPmf(x: number, n: number, p: number, q: number): number {
  if (x === 0) return n * Math.log1p(-p)
  if (x === n) return n * Math.log(p)
  const lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(x, n * p) - bd0(n - x, n * q)
  // ln(2π x (n−x)/n); n − x is exact, whereas Loader's log1p(−x/n) loses digits when x is close to n.
  const lf = LN_2PI + Math.log((x * (n - x)) / n)
  return lc - 0.5 * lf
}

/**
 * Natural log of the binomial probability P[X = k], X ~ Bin(n, p) (Loader 2000).
 * −Infinity outside 0 ≤ k ≤ n or where the probability is exactly 0.
 */
export function binomialLogPmf(k: number, n: number, p: number): number {
  checkArgs('binomialLogPmf', k, n, p)
  if (k < 0 || k > n) return -Infinity
  if (p === 0) return k === 0 ? 0 : -Infinity
  if (p === 1) return k === n ? 0 : -Infinity
  return lnPmf(k, n, p, 1 - p)
}

/** Natural log of P[X ≥ k], X ~ Bin(n, p); arguments already checked. */
function upperTailLn(k: number, n: number, p: number): number {
  if (k <= 0) return 0
  if (k > n) return -Infinity
  if (p === 0) return -Infinity
  if (p === 1) return 0
  const q = 1 - p
  if (k > n * p) {
    // Upper tail: ratios r_i = P(i+1)/P(i) < 1 for i ≥ k > np, decreasing in i,
    // so after adding term t the remainder is at most t·r/(1−r).
    const pq = p / q
    let t = 1
    let s = 1
    for (let i = k; i < n; i++) {
      const r = ((n - i) * pq) / (i + 1)
      t *= r
      s += t
      if (t * r <= (1 - r) * s * SUM_TOL) break
    }
    return lnPmf(k, n, p, q) + Math.log(s)
  }
  // Lower tail P[X ≤ k−1]: ratios P(i−1)/P(i) < 1 for i ≤ k−1 < np, decreasing as i falls.
  const top = k - 1
  const qp = q / p
  let t = 1
  let s = 1
  for (let i = top; i > 0; i--) {
    const r = (i * qp) / (n - i + 1)
    t *= r
    s += t
    if (t * r <= (1 - r) * s * SUM_TOL) break
  }
  return log1mExp(lnPmf(top, n, p, q) + Math.log(s))
}

/**
 * log10 P[X ≥ k] for X ~ Bin(n, p): the one-sided p-value of observing k successes in n trials under the
 * null hypothesis of independent Bernoulli(p) trials. Equals log10 I_p(k, n − k + 1), the regularized
 * incomplete beta function (DLMF 8.17.5). Exact (relative error of the result ≲ 3e−13) for n up to 1e7 and
 * beyond, including tails far below the smallest double: k = n = 1e6, p = ¼ gives n·log10(¼) ≈ −602059.99.
 *
 * k ≤ 0 gives 0 (p-value 1); k > n gives −Infinity. n must be a non-negative safe integer, k an integer,
 * p in [0, 1]; anything else throws TokenmarkError E_BAD_PARAM.
 */
export function binomialUpperTailLog10(k: number, n: number, p: number): number {
  checkArgs('binomialUpperTailLog10', k, n, p)
  return upperTailLn(k, n, p) / LN10
}

/**
 * log10 P[X ≤ k] for X ~ Bin(n, p), as the upper tail of the complement count: P[X ≤ k] = P[n − X ≥ n − k]
 * with n − X ~ Bin(n, 1 − p). Exact in log space on both sides of the mean (the e-value of a count far below
 * its null mean needs it: ln(1 − upper tail) would be ln 0). k ≥ n gives 0, k < 0 gives −Infinity.
 */
export function binomialLowerTailLog10(k: number, n: number, p: number): number {
  checkArgs('binomialLowerTailLog10', k, n, p)
  if (k >= n) return 0
  if (k < 0) return -Infinity
  return upperTailLn(n - k, n, 1 - p) / LN10
}

/**
 * The normal-approximation score z = (k − np) / √(np(1 − p)) reported beside the exact p-value (never
 * instead of it). With zero variance (n = 0, p = 0 or p = 1) it is 0 when k = np and ±Infinity otherwise.
 */
export function binomialZScore(k: number, n: number, p: number): number {
  checkArgs('binomialZScore', k, n, p)
  const d = k - n * p
  const v = n * p * (1 - p)
  if (v === 0) return d === 0 ? 0 : d > 0 ? Infinity : -Infinity
  return d / Math.sqrt(v)
}
