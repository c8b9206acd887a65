/**
 * Special functions for exact tail probabilities in log space.
 *
 * Sources:
 * - Stirling series for ln Γ: DLMF §5.11.1 (Bernoulli-number coefficients B_2k / (2k(2k−1))); near the
 *   roots of ln Γ at 1 and 2, its Taylor series DLMF 5.7.3.
 * - stirlerr and bd0, the saddle-point pieces that keep ln-densities free of cancellation at large n:
 *   C. Loader, "Fast and accurate computation of binomial probabilities" (2000), §2–3; the same
 *   functions R uses in dbinom/dpois.
 * - log1mExp: M. Mächler, "Accurately computing log(1 − exp(−|a|))", Rmpfr vignette (2012).
 *
 * Nothing here allocates or uses randomness; every function is pure.
 */
import { TokenmarkError } from '../errors.js'

/** ln 10 */
export const LN10 = Math.LN10
/** ln 2 */
export const LN2 = Math.LN2
/** ln √(2π) */
export const LN_SQRT_2PI = 0.9189385332046728
/** ln (2π) */
export const LN_2PI = 1.8378770664093456

/**
 * Stirling-series remainder for ln Γ(x) at x ≥ 10 (DLMF 5.11.1, eight terms):
 * ln Γ(x) = (x − ½) ln x − x + ln √(2π) + stirlingCorrection(x).
 * The first omitted term is below 2e−18 at x = 10.
 */
function stirlingCorrection(x: number): number {
  const r = 1 / (x * x)
  let s = 3617 / 122400
  s = 1 / 156 - r * s
  s = 691 / 360360 - r * s
  s = 1 / 1188 - r * s
  s = 1 / 1680 - r * s
  s = 1 / 1260 - r * s
  s = 1 / 360 - r * s
  s = 1 / 12 - r * s
  return s / x
}

/** (ζ(k) − 1)/k for k = 2..30, computed with mpmath at 40 digits (coefficients of DLMF 5.7.3). */
const ZETA_M1_OVER_K = [
  0.3224670334241132, 0.0673523010531981, 0.020580808427784546, 0.007385551028673986, 0.0028905103307415234,
  0.001192753911703261, 0.0005096695247430425, 0.00022315475845357939, 9.945751278180853e-5, 4.492623673813314e-5,
  2.050721277567069e-5, 9.439488275268397e-6, 4.374866789907488e-6, 2.039215753801366e-6, 9.55141213040742e-7,
  4.492469198764566e-7, 2.1207184805554665e-7, 1.0043224823968099e-7, 4.7698101693639804e-8, 2.2711094608943164e-8,
  1.0838659214896955e-8, 5.183475041970047e-9, 2.4836745438024785e-9, 1.1921401405860912e-9, 5.731367241678862e-10,
  2.7595228851242334e-10, 1.330476437424449e-10, 6.4229645638381e-11, 3.1044247747322276e-11,
]
/** 1 − γ (Euler's constant) */
const ONE_MINUS_EULER = 0.42278433509846713

/**
 * ln Γ(2 + z) = (1 − γ) z + Σ_{k≥2} (−1)^k (ζ(k) − 1) z^k / k, for |z| ≤ ½ (DLMF 5.7.3 plus ln Γ(2+z) =
 * ln(1+z) + ln Γ(1+z)). Terms beyond k = 30 are below 4^−30/30. Exact to a few ulps relative, also at the
 * root z = 0.
 */
function lnGamma2p(z: number): number {
  const w = -z
  let s = 0
  for (let i = ZETA_M1_OVER_K.length - 1; i >= 0; i--) s = s * w + ZETA_M1_OVER_K[i]
  return z * ONE_MINUS_EULER + s * w * w
}

/**
 * ln Γ(1 + z) for −½ ≤ z ≤ ½, accurate to a few ulps relative (also near z = 0, where ln Γ(1+z) ≈ −γz and
 * 1 − Γ(1+z) cancels): DLMF 5.7.3. Used for small-shape gamma tails.
 */
export function lnGamma1p(z: number): number {
  if (!(z >= -0.5 && z <= 0.5)) throw new TokenmarkError('E_BAD_PARAM', `lnGamma1p: z must be in [-0.5, 0.5], got ${z}`)
  return lnGamma2p(z) - Math.log1p(z)
}

/**
 * ln Γ(x) for real x > 0, to a few ulps relative, including next to the roots x = 1 and x = 2.
 * - x ≥ 10: the Stirling series (DLMF 5.11.1);
 * - ½ ≤ x < 10: the Taylor series of ln Γ around 2 (DLMF 5.7.3) after the recurrence Γ(x + 1) = x Γ(x)
 *   (DLMF 5.5.1) has moved x into [1.5, 2.5];
 * - x < ½: ln Γ(x) = ln Γ(1 + x) − ln x.
 * Throws TokenmarkError E_BAD_PARAM for x ≤ 0 or NaN.
 */
export function lnGamma(x: number): number {
  if (!(x > 0)) throw new TokenmarkError('E_BAD_PARAM', `lnGamma: x must be > 0, got ${x}`)
  if (x === Infinity) return Infinity
  if (x >= 10) return (x - 0.5) * Math.log(x) - x + LN_SQRT_2PI + stirlingCorrection(x)
  if (x < 0.5) return lnGamma1p(x) - Math.log(x)
  if (x < 1.5) return lnGamma1p(x - 1)
  // x − m is exact here (x < 10), so the only rounding is in the product.
  let prod = 1
  let y = x
  while (y > 2.5) {
    y -= 1
    prod *= y
  }
  return lnGamma2p(y - 2) + Math.log(prod)
}

/** stirlerr(n/2) for n = 0..19, computed with mpmath at 50 digits (Loader's sferr_halves). */
const STIRLERR_HALVES = [
  0.0, 0.15342640972002736, 0.08106146679532726, 0.05481412105191765, 0.0413406959554093, 0.03316287351993629,
  0.02767792568499834, 0.023746163656297496, 0.020790672103765093, 0.018488450532673187, 0.016644691189821193,
  0.015134973221917378, 0.013876128823070748, 0.012810465242920227, 0.01189670994589177, 0.011104559758206917,
  0.010411265261972096, 0.009799416126158804, 0.009255462182712733, 0.008768700134139386,
]

/**
 * The error of Stirling's formula for n!:
 * stirlerr(n) = ln Γ(n + 1) − [(n + ½) ln n − n + ln √(2π)],  n ≥ 0 (stirlerr(0) = 0 by convention).
 * Loader (2000) eq. (4): a table for half-integers below 10, the Stirling series above,
 * ln Γ directly for other small n.
 */
export function stirlerr(n: number): number {
  if (!(n >= 0)) throw new TokenmarkError('E_BAD_PARAM', `stirlerr: n must be >= 0, got ${n}`)
  if (n >= 10) return stirlingCorrection(n)
  const twice = 2 * n
  if (Number.isInteger(twice)) return STIRLERR_HALVES[twice]
  return lnGamma(n + 1) - (n + 0.5) * Math.log(n) + n - LN_SQRT_2PI
}

/**
 * The deviance term bd0(x, M) = x ln(x / M) + M − x ≥ 0, for x ≥ 0 and M > 0,
 * computed without cancellation (Loader 2000, §3): when x is close to M the series
 * bd0 = (x − M) v + 2x Σ_{j≥1} v^(2j+1) / (2j + 1),  v = (x − M)/(x + M).
 */
export function bd0(x: number, M: number): number {
  if (x === 0) return M
  const d = x - M
  if (Math.abs(d) < 0.1 * (x + M)) {
    let v = d / (x + M)
    let s = d * v
    let ej = 2 * x * v
    v *= v
    for (let j = 1; j < 1000; j++) {
      ej *= v
      const s1 = s + ej / (2 * j + 1)
      if (s1 === s) return s1
      s = s1
    }
    return s
  }
  return x * Math.log(x / M) + M - x
}

/**
 * ln(1 − e^a) for a ≤ 0, accurate over the whole range (Mächler 2012): log(−expm1(a)) for a > −ln 2,
 * log1p(−exp(a)) otherwise. Returns −Infinity at a = 0 and +0 (never −0) once e^a underflows.
 */
export function log1mExp(a: number): number {
  if (a > 0) throw new TokenmarkError('E_BAD_PARAM', `log1mExp: a must be <= 0, got ${a}`)
  if (a > -LN2) return Math.log(-Math.expm1(a))
  return Math.log1p(-Math.exp(a)) || 0 // || 0: give +0, not −0, when e^a underflows
}

/** ln(e^a + e^b) without overflow. */
export function logAddExp(a: number, b: number): number {
  const m = Math.max(a, b)
  if (m === -Infinity) return -Infinity
  if (m === Infinity) return Infinity
  return m + Math.log1p(Math.exp(Math.min(a, b) - m))
}

/** ln Σ e^(x_i) without overflow; −Infinity for an empty list. */
export function logSumExp(xs: readonly number[]): number {
  let m = -Infinity
  for (const x of xs) if (x > m) m = x
  if (m === -Infinity || m === Infinity) return m
  let s = 0
  for (const x of xs) s += Math.exp(x - m)
  return m + Math.log(s)
}
