/** Numbers for people: scientific notation from log10 (p-values underflow doubles), "1 in N", counts. */

/** Mantissa and exponent of 10^x, mantissa rounded to `digits` decimals and in [1, 10). */
export function sci(x: number, digits = 1): { m: string; e: number } {
  let e = Math.floor(x)
  let m = Number((10 ** (x - e)).toFixed(digits))
  if (m >= 10) {
    m /= 10
    e++
  }
  return { m: m.toFixed(digits), e }
}

const SUPERSCRIPT: Record<string, string> = { '-': '⁻', '0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹' }
const sup = (n: number) => String(n).replace(/./g, (c) => SUPERSCRIPT[c] ?? c)

/** 10^x as plain text: "0.023" for moderate values, "3.1 × 10⁻¹⁵" otherwise. */
export function pow10Text(x: number, digits = 1): string {
  if (x >= -3 && x < 4) return Number((10 ** x).toPrecision(digits + 1)).toLocaleString('en-US', { maximumFractionDigits: 6 })
  const { m, e } = sci(x, digits)
  return `${m} × 10${sup(e)}`
}

/** 10^x in ASCII e-notation ("3.1e-15"), for JSON and command lines. */
export function pow10E(x: number, digits = 2): string {
  if (x >= -3 && x < 4) return String(Number((10 ** x).toPrecision(digits + 1)))
  const { m, e } = sci(x, digits)
  return `${m}e${e}`
}

/** "1 in N" phrasing of a p-value given as log10 p. */
export function oneIn(log10P: number): string {
  if (log10P >= -0.0001) return '1 in 1 (no evidence)'
  const n = -log10P
  if (n < 2) return `1 in ${Number((10 ** n).toPrecision(2))}`
  if (n < 6) return `1 in ${Math.round(10 ** n).toLocaleString('en-US')}`
  return `1 in ${pow10Text(n)}`
}

export function int(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

export function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '—'
}
