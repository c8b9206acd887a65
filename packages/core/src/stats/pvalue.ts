/**
 * p-values kept as log10 p, and corrections for searching over many hypotheses.
 *
 * A long text drives p far below the smallest double (log10 p = −400 or −100000 is an ordinary answer),
 * so log10 p is the primary number and p itself is derived from it.
 *
 * Corrections for reporting the smallest of m p-values (windows, keys, messages, tokenizers searched):
 * - Bonferroni: p_adj = min(1, m·p) — valid for any dependence between the m tests.
 * - Šidák: p_adj = 1 − (1 − p)^m — exact when the m tests are independent (Šidák, JASA 62, 1967).
 */
import { TokenmarkError } from '../errors.js'
import { LN10, log1mExp } from './special.js'

/** Below this ln p, −ln(1 − p) = p (1 + p/2 + …) equals p to double precision and e^(ln p) underflows. */
const LN_NEGLIGIBLE = -700

function checkLog10P(fn: string, log10P: number): void {
  if (Number.isNaN(log10P)) throw new TokenmarkError('E_BAD_PARAM', `${fn}: log10P must be a number, got NaN`)
}

function checkCount(fn: string, m: number): void {
  if (!(m >= 1 && m < Infinity)) {
    throw new TokenmarkError('E_BAD_PARAM', `${fn}: the number of hypotheses m must be finite and >= 1, got ${m}`)
  }
}

/**
 * p = 10^log10P, clamped to [0, 1]. Returns 0 once p underflows (log10P below about −323.3), which is why
 * results carry log10P as the primary number.
 */
export function pFromLog10(log10P: number): number {
  checkLog10P('pFromLog10', log10P)
  if (log10P >= 0) return 1
  return 10 ** log10P
}

/** Bonferroni-corrected log10 p for the smallest of m p-values: min(0, log10P + log10 m). */
export function bonferroniLog10(log10P: number, m: number): number {
  checkLog10P('bonferroniLog10', log10P)
  checkCount('bonferroniLog10', m)
  return Math.min(0, log10P + Math.log10(m))
}

/**
 * Šidák-corrected log10 p for the smallest of m independent p-values: log10(1 − (1 − p)^m), computed without
 * forming p, so it stays exact when p underflows (it then equals log10P + log10 m) and when p is close to 1.
 * With y = −m ln(1 − p): ln p_adj = ln(1 − e^{−y}), and ln y = ln m + ln(−ln(1 − p)).
 */
export function sidakLog10(log10P: number, m: number): number {
  checkLog10P('sidakLog10', log10P)
  checkCount('sidakLog10', m)
  if (log10P >= 0) return 0
  if (m === 1) return log10P
  const lnP = log10P * LN10
  // ln(−ln(1 − p)); below LN_NEGLIGIBLE the correction ln(1 + p/2 + …) is under 1e−304.
  const lnNegLog1mP = lnP < LN_NEGLIGIBLE ? lnP : Math.log(-log1mExp(lnP))
  const lnY = lnNegLog1mP + Math.log(m)
  if (lnY < LN_NEGLIGIBLE) return lnY / LN10 // 1 − e^{−y} = y (1 − y/2 + …)
  const y = Math.exp(lnY)
  return Math.min(0, log1mExp(-y) / LN10)
}
