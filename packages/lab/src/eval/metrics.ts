/**
 * Detection and quality metrics of the evaluation grid (issue 3 §3).
 * - TPR at a false-positive rate f: the fraction of watermarked texts with p ≤ f. The p-values are exact
 *   (binomial / Gamma tails under H0), so P[p ≤ f | unwatermarked] ≤ f and thresholding p at f is a test
 *   of level f: no calibration on negatives is needed (the observed FPR is reported beside it).
 * - AUC: P[score(watermarked) > score(unwatermarked)] + ½ P[tie], score = −log10 p (Mann–Whitney).
 * - size (Piet et al., "Mark My Words", 2023): per text, the smallest prefix length after which the
 *   p-value stays below the threshold; the median over texts, ∞ when a text is never detected (so the
 *   median is ∞ when more than half are not).
 * - distinct-n: distinct n-grams / n-grams over a set of texts (Li et al. 2016).
 */

/** Fraction of `log10Ps` at or below log10 f. */
export function rateBelow(log10Ps: readonly number[], f: number): number {
  if (log10Ps.length === 0) return NaN
  const t = Math.log10(f)
  return log10Ps.filter((x) => x <= t).length / log10Ps.length
}

/** AUC of positives against negatives, each scored by −log10 p (higher = more watermarked). */
export function auc(posLog10P: readonly number[], negLog10P: readonly number[]): number {
  if (posLog10P.length === 0 || negLog10P.length === 0) return NaN
  const all = [...posLog10P.map((x) => ({ s: -x, pos: true })), ...negLog10P.map((x) => ({ s: -x, pos: false }))].sort((a, b) => a.s - b.s)
  // rank-sum with mid-ranks for ties
  let rankSumPos = 0
  for (let i = 0; i < all.length; ) {
    let j = i
    while (j < all.length && all[j].s === all[i].s) j++
    const mid = (i + 1 + j) / 2
    for (let k = i; k < j; k++) if (all[k].pos) rankSumPos += mid
    i = j
  }
  const n1 = posLog10P.length
  const n0 = negLog10P.length
  return (rankSumPos - (n1 * (n1 + 1)) / 2) / (n1 * n0)
}

/** The MarkMyWords size of one text: prefix log10 p after each token → first length from which all stay ≤ log10 α. */
export function detectionLength(prefixLog10P: readonly number[], alpha: number): number {
  const t = Math.log10(alpha)
  let len = Infinity
  for (let i = prefixLog10P.length - 1; i >= 0; i--) {
    if (prefixLog10P[i] <= t) len = i + 1
    else break
  }
  return len
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Distinct n-grams / total n-grams across texts (n-grams never cross two texts). */
export function distinctN(texts: readonly Uint32Array[], n: number): number {
  const seen = new Set<string>()
  let total = 0
  for (const t of texts) {
    for (let i = 0; i + n <= t.length; i++) {
      seen.add(Array.prototype.join.call(t.subarray(i, i + n), ','))
      total++
    }
  }
  return total === 0 ? NaN : seen.size / total
}
