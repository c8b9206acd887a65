/** Human-readable numbers shared by every command's summary. */

/** 10^x in scientific notation, for any finite x (no overflow or underflow). */
export function pow10(x: number, digits = 2): string {
  if (x > -4 && x < 6) return Number((10 ** x).toPrecision(digits + 1)).toString()
  const e = Math.floor(x)
  let m = Number((10 ** (x - e)).toFixed(digits))
  let ee = e
  if (m >= 10) {
    m /= 10
    ee++
  }
  return `${m.toFixed(digits)}e${ee}`
}

/** p-value from log10 p (works when p underflows a double). */
export function formatP(log10P: number): string {
  return pow10(log10P)
}

/** "1 in N" phrasing of a p-value. */
export function oneIn(log10P: number): string {
  return `1 in ${pow10(-log10P, 1)}`
}
