/**
 * Gamma tail probabilities in log space — the exact test behind Gumbel / exponential-sampling scores
 * (Aaronson; Fernandez et al., "Three Bricks", 2023).
 *
 * Null hypothesis: the score is a sum of T independent Exp(1) variables (each −ln(1 − r_t) with r_t uniform
 * on (0, 1) when the text is unrelated to the key), so S ~ Gamma(T, 1). The p-value of an observed score x is
 * P[S ≥ x] = Q(T, x), the regularized upper incomplete gamma function (DLMF 8.2.4). The shape may be any real
 * a > 0.
 *
 * Method (Numerical Recipes, 3rd ed., §6.2; DLMF §8.7 and §8.9):
 * - a < 1 and x < 1.5: Q directly from the alternating series of DLMF 8.7.1 (see smallShapeUpperLn), since
 *   1 − P loses everything when Q ≈ a·E1(x) is small;
 * - x < a + 1: the lower function by the positive series P(a, x) = e^{−x} x^a Σ_{j≥0} x^j / Γ(a + j + 1)
 *   (DLMF 8.7.1), whose ratios x / (a + j) are < 1 and decreasing, so it stops with a rigorous remainder bound;
 *   then ln Q = ln(1 − P).
 * - otherwise (x ≥ a + 1, or a < 1 and x ≥ 1.5): Legendre's continued fraction for Γ(a, x) (DLMF 8.9.2,
 *   in the even form of NR eq. 6.2.7), evaluated with the modified Lentz method.
 * The common factor e^{−x} x^a / Γ(a + 1) is, for a ≥ 1, Loader's saddle-point form of the Poisson density
 * −stirlerr(a) − bd0(a, x) − ½ ln(2πa) (C. Loader, 2000), so no terms of size a ln a cancel at large a.
 */
import { TokenmarkError } from '../errors.js'
import { bd0, LN10, LN2, LN_2PI, lnGamma, lnGamma1p, log1mExp, stirlerr } from './special.js'

const SUM_TOL = 2 ** -60
const CF_TOL = 2 ** -53
const TINY = 1e-300
/** Below this x a shape under 1 uses smallShapeUpperLn; above it the continued fraction converges quickly. */
const SMALL_SHAPE_X = 1.5

function checkArgs(fn: string, x: number, shape: number): void {
  if (!(shape > 0 && shape < Infinity)) {
    throw new TokenmarkError('E_BAD_PARAM', `${fn}: shape must be a finite number > 0, got ${shape}`)
  }
  if (Number.isNaN(x)) throw new TokenmarkError('E_BAD_PARAM', `${fn}: x must be a number, got NaN`)
}

/** ln(e^{−x} x^a / Γ(a + 1)) for a > 0, x > 0. */
function lnKernel(a: number, x: number): number {
  if (a < 1) return a * Math.log(x) - x - lnGamma(a + 1)
  return -stirlerr(a) - bd0(a, x) - 0.5 * (LN_2PI + Math.log(a))
}

/**
 * Q(a, x) for a < 1, x < SMALL_SHAPE_X, where 1 − P(a, x) would cancel (Q ≈ a·E1(x) as a → 0). From the
 * second series of DLMF 8.7.1, γ(a, x) = Σ_{n≥0} (−1)^n x^(a+n) / (n! (a + n)):
 *   Q(a, x) = [1 − x^a/Γ(1+a)] + (a x^a/Γ(1+a)) Σ_{n≥1} (−1)^(n+1) x^n / (n! (a + n)),
 * with the bracket as −expm1(a ln x − ln Γ(1+a)) and ln Γ(1+a) from its Taylor series (the split used by
 * DiDonato & Morris, ACM TOMS 12 (1986) 377). For x < 1.5 the two parts cancel by at most a factor ~12.
 */
function smallShapeUpperLn(x: number, a: number): number {
  const e = a * Math.log(x) - (a <= 0.5 ? lnGamma1p(a) : lnGamma(1 + a))
  let term = 1
  let sum = 0
  for (let n = 1; n < 200; n++) {
    term *= x / n
    const add = term / (a + n)
    sum += n % 2 === 1 ? add : -add
    if (add <= Math.abs(sum) * 2 ** -56) break
  }
  // P = e^e (1 − a·sum) is the smaller side when x^a is small; then ln Q = ln(1 − P) keeps Q's tiny deficit.
  const lnP = e + Math.log1p(-a * sum)
  if (lnP < -LN2) return log1mExp(lnP)
  return Math.log(-Math.expm1(e) + a * Math.exp(e) * sum)
}

/** ln P(a, x) by the positive series of DLMF 8.7.1, for x < a + 1 (ratios x / (a + j) < 1, decreasing). */
function lowerSeriesLn(x: number, a: number): number {
  let t = 1
  let s = 1
  for (let j = 1; ; j++) {
    const r = x / (a + j)
    t *= r
    s += t
    if (t * r <= (1 - r) * s * SUM_TOL) break
  }
  return lnKernel(a, x) + Math.log(s)
}

/** Natural log of Q(a, x) = P[Gamma(a, 1) ≥ x]; arguments already checked. */
function upperTailLn(x: number, a: number): number {
  if (x <= 0) return 0
  if (x === Infinity) return -Infinity
  if (a < 1 && x < SMALL_SHAPE_X) return smallShapeUpperLn(x, a)
  if (x < a + 1) return log1mExp(lowerSeriesLn(x, a))
  // Γ(a, x) = e^{−x} x^a · 1/(x+1−a− 1·(1−a)/(x+3−a− 2·(2−a)/(x+5−a− …))),
  // modified Lentz (NR §5.2, §6.2).
  let b = x + 1 - a
  let c = 1 / TINY
  let d = 1 / b
  let h = d
  for (let i = 1; ; i++) {
    const an = -i * (i - a)
    b += 2
    d = an * d + b
    if (Math.abs(d) < TINY) d = TINY
    c = b + an / c
    if (Math.abs(c) < TINY) c = TINY
    d = 1 / d
    const del = d * c
    h *= del
    if (Math.abs(del - 1) <= CF_TOL) break
    if (i > 1e8) {
      // Unreachable for finite inputs (it converges in O(√a) steps); a guard against looping forever.
      throw new TokenmarkError('E_BAD_PARAM', `gamma tail: continued fraction did not converge at x=${x}, a=${a}`)
    }
  }
  return Math.log(a) + lnKernel(a, x) + Math.log(h)
}

/**
 * log10 P[G ≥ x] for G ~ Gamma(shape, 1): the one-sided p-value of a Gumbel-watermark score x summed over
 * `shape` = T scored tokens, under the null hypothesis that the per-token scores are i.i.d. Exp(1).
 * Exact (relative error ≲ 1e−13 against mpmath and exact Poisson sums) for shapes from 1e−8 to 1e7 and
 * beyond, including tails far below the smallest double (x = 1e6, shape = 1e5 gives ≈ −290868.9).
 *
 * x ≤ 0 gives 0; x = Infinity gives −Infinity. shape must be finite and > 0, x not NaN; otherwise throws
 * TokenmarkError E_BAD_PARAM.
 */
export function gammaUpperTailLog10(x: number, shape: number): number {
  checkArgs('gammaUpperTailLog10', x, shape)
  return upperTailLn(x, shape) / LN10
}

/** The normal-approximation score (x − shape) / √shape, reported beside the exact p-value. */
export function gammaZScore(x: number, shape: number): number {
  checkArgs('gammaZScore', x, shape)
  return (x - shape) / Math.sqrt(shape)
}

/**
 * ln P(a, x) = ln P[Gamma(a, 1) ≤ x], the regularised lower incomplete gamma function (DLMF 8.2.4), for
 * a > 0: the series where it is the smaller side, else ln(1 − Q). The e-value of a Gumbel score needs it
 * (evalue.ts); it is −Infinity only at x ≤ 0.
 */
export function gammaLowerTailLn(x: number, shape: number): number {
  checkArgs('gammaLowerTailLn', x, shape)
  if (x <= 0) return -Infinity
  if (x === Infinity) return 0
  if (x < shape + 1 && !(shape < 1 && x < SMALL_SHAPE_X)) return lowerSeriesLn(x, shape)
  return log1mExp(upperTailLn(x, shape))
}
