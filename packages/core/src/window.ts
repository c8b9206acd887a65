/**
 * The most significant contiguous span, for a watermarked passage pasted inside other text.
 * Windows are examined on a fixed grid (lengths growing by 1.25×, starts every max(1, ⌊L/8⌋) scored
 * tokens) and the best window's p-value is Bonferroni-corrected for the number examined. WinMax in
 * lm-watermarking reports the best window's uncorrected normal p-value, which is not a valid p-value.
 */
import type { NullModel } from './schemes/types.js'
import { tailTest } from './significance.js'
import { bonferroniLog10 } from './stats/pvalue.js'

export interface WindowResult {
  /** Half-open range of scored observations [start, end). */
  start: number
  end: number
  /** Best window's own log10 p (uncorrected, for reference). */
  log10PUncorrected: number
  /** Corrected for every window examined: the valid one. */
  log10P: number
  windowsExamined: number
}

export function mostSignificantWindow(values: ArrayLike<number>, model: NullModel, minLength = 16): WindowResult | undefined {
  const n = values.length
  if (n === 0) return undefined
  const prefix = new Float64Array(n + 1)
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + values[i]
  let best: WindowResult | undefined
  let examined = 0
  const lengths: number[] = []
  for (let L = Math.min(minLength, n); ; L = Math.max(L + 1, Math.floor(L * 1.25))) {
    lengths.push(Math.min(L, n))
    if (L >= n) break
  }
  for (const L of new Set(lengths)) {
    const stride = Math.max(1, Math.floor(L / 8))
    for (let s = 0; ; s += stride) {
      const start = Math.min(s, n - L)
      const { log10P } = tailTest(model, L, prefix[start + L] - prefix[start])
      examined++
      if (!best || log10P < best.log10PUncorrected) best = { start, end: start + L, log10PUncorrected: log10P, log10P: 0, windowsExamined: 0 }
      if (start >= n - L) break
    }
  }
  if (!best) return undefined
  best.windowsExamined = examined
  best.log10P = bonferroniLog10(best.log10PUncorrected, examined)
  return best
}
