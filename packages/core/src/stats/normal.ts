/**
 * Standard normal upper tail in log space.
 *
 * Distribution: Z ~ N(0, 1); P[Z ≥ z] = ½ erfc(z / √2) (DLMF 7.2.2, 7.18 / A&S 26.2.29).
 *
 * Method:
 * - 0 ≤ z < 3: Marsaglia's series Φ(z) = ½ + φ(z) (z + z³/3 + z⁵/(3·5) + …) (G. Marsaglia, "Evaluating the
 *   normal distribution", J. Stat. Software 11(4), 2004), whose terms are all positive; P = ½ − φ(z)·series
 *   loses at most a factor ½/P(3) ≈ 370 in relative accuracy.
 * - z ≥ 3: Laplace's continued fraction for the Mills ratio, P[Z ≥ z] = φ(z) / (z + 1/(z + 2/(z + 3/(z + …))))
 *   (A&S 26.2.14; DLMF 7.9.1 with z/√2), evaluated with the modified Lentz method and kept in log space as
 *   ln P = −z²/2 − ln √(2π) − ln(CF), so z up to ~1e154 stays exact (log10 P ≈ −2.17e7 at z = 1e4).
 * - z < 0: P[Z ≥ z] = 1 − P[Z ≥ −z] through log(1 − e^a).
 */
import { TokenmarkError } from '../errors.js'
import { LN10, LN_SQRT_2PI, log1mExp } from './special.js'

const SERIES_LIMIT = 3
const CF_TOL = 2 ** -53
const TINY = 1e-300

/** Natural log of P[Z ≥ z] for z ≥ 0. */
function upperTailLnNonNegative(z: number): number {
  if (z === Infinity) return -Infinity
  const z2 = z * z
  if (z < SERIES_LIMIT) {
    let t = z
    let s = z
    for (let i = 3; ; i += 2) {
      t *= z2 / i
      const s1 = s + t
      if (s1 === s) break
      s = s1
    }
    return Math.log(0.5 - Math.exp(-0.5 * z2 - LN_SQRT_2PI) * s)
  }
  // f = z + 1/(z + 2/(z + 3/(z + …))), modified Lentz (NR §5.2).
  let f = z
  let c = z
  let d = 0
  for (let j = 1; ; j++) {
    d = z + j * d
    if (Math.abs(d) < TINY) d = TINY
    c = z + j / c
    if (Math.abs(c) < TINY) c = TINY
    d = 1 / d
    const del = c * d
    f *= del
    if (Math.abs(del - 1) <= CF_TOL) break
  }
  return -0.5 * z2 - LN_SQRT_2PI - Math.log(f)
}

/**
 * log10 P[Z ≥ z] for Z ~ N(0, 1), exact to ~1e−14 relative for any finite z (−Infinity only where the
 * answer itself is below −1.7e308, i.e. z > ~1.9e154). z = +Infinity gives −Infinity, z = −Infinity gives 0;
 * NaN throws TokenmarkError E_BAD_PARAM.
 */
export function normalUpperTailLog10(z: number): number {
  if (Number.isNaN(z)) throw new TokenmarkError('E_BAD_PARAM', 'normalUpperTailLog10: z must be a number, got NaN')
  const ln = z >= 0 ? upperTailLnNonNegative(z) : log1mExp(upperTailLnNonNegative(-z))
  return ln / LN10
}
