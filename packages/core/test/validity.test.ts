/**
 * False-positive rates on real human text (Moby Dick) against the nominal rate. Every count of
 * p < 0.01 must stay under the 99.9 % quantile of Binomial(N, 0.01) for the N tests run.
 */
import { beforeAll, describe, expect, test } from 'vitest'
import {
  createAccumulator,
  detect,
  getTokenizer,
  keyFromSecret,
  normalUpperTailLog10,
  prepareKey,
  schemeIds,
  scoreTokens,
  seededRng,
  watermarkSampler,
  type WatermarkKey,
} from '@tokenmark/core'
import { mobyDickText } from './helpers/moby.js'

/** Smallest c with P[Bin(n, p) ≥ c] ≤ 1 − q, summed directly in log space (independent of our tails). */
function binomialQuantile(n: number, p: number, q: number): number {
  const lnPmf: number[] = []
  let lnC = 0
  for (let k = 0; k <= n; k++) {
    if (k > 0) lnC += Math.log((n - k + 1) / k)
    lnPmf.push(lnC + k * Math.log(p) + (n - k) * Math.log1p(-p))
  }
  let cdf = 0
  for (let k = 0; k <= n; k++) {
    cdf += Math.exp(lnPmf[k])
    if (cdf >= q) return k + 1
  }
  return n + 1
}

function keyFor(scheme: string, i: number, params: Record<string, unknown> = {}): WatermarkKey {
  const rng = seededRng(1000 * i + scheme.length * 7 + scheme.charCodeAt(0))
  return keyFromSecret(Uint8Array.from({ length: 32 }, () => rng.nextU32() & 255), { scheme, params })
}

let ids: Uint32Array

beforeAll(() => {
  ids = getTokenizer('o200k_base').encode(mobyDickText())
})

describe('validity on human text', () => {
  test('Moby Dick is long enough for ≥ 2,000 windows of 200 tokens per scheme', () => {
    expect(Math.floor(ids.length / 200) * 5).toBeGreaterThanOrEqual(2000)
  })

  test.each(schemeIds())('%s: count of p < 0.01 over 5 keys × disjoint 200-token windows stays under the binomial 99.9 percent bound', (scheme) => {
    let n = 0
    let hits = 0
    let minLog10P = 0
    for (let k = 0; k < 5; k++) {
      const key = keyFor(scheme, k)
      // Each key scans disjoint windows, offset differently per key.
      for (let s = k * 40; s + 200 <= ids.length; s += 200) {
        const r = detect({ tokens: ids.subarray(s, s + 200), keys: key })
        n++
        if (r.pValue < 0.01) hits++
        minLog10P = Math.min(minLog10P, r.log10P)
      }
    }
    const bound = binomialQuantile(n, 0.01, 0.999)
    expect(n).toBeGreaterThanOrEqual(2000)
    expect(hits).toBeLessThan(bound)
    // and nothing human comes anywhere near the default detection threshold
    expect(minLog10P).toBeGreaterThan(-6)
  })
})

describe('de-duplication', () => {
  // A paragraph repeated 20 times: without de-duplication every deviation is counted 20 times.
  const paragraph =
    'Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse, and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world.'

  test('keeps the false-positive rate valid on repetitive text where the naive z-test does not', () => {
    const tk = getTokenizer('o200k_base')
    const rep = tk.encode(Array(20).fill(paragraph).join(' '))
    const N = 300
    let dedupHits = 0
    let naiveHits = 0
    for (let k = 0; k < N; k++) {
      const key = keyFor('kgw', 10_000 + k)
      if (detect({ tokens: rep, keys: key }).pValue < 0.01) dedupHits++
      // naive: no de-duplication and a one-sided normal approximation, as common implementations do
      const acc = createAccumulator(key, { dedup: false })
      scoreTokens(prepareKey(key), rep, acc)
      const z = (acc.sum - 0.25 * acc.tokensScored) / Math.sqrt(acc.tokensScored * 0.25 * 0.75)
      if (normalUpperTailLog10(z) < -2) naiveHits++
    }
    const bound = binomialQuantile(N, 0.01, 0.999)
    expect(dedupHits).toBeLessThan(bound)
    expect(naiveHits).toBeGreaterThan(3 * bound)
  })

  test('the result says when de-duplication is off', () => {
    const key = keyFor('kgw', 1)
    const r = detect({ tokens: ids.subarray(0, 300), keys: key, dedup: false })
    expect(r.dedup).toBe(false)
    expect(r.tokensSkipped.duplicate).toBe(0)
    const d = detect({ tokens: ids.subarray(0, 300), keys: key })
    expect(d.dedup).toBe(true)
    expect(d.tokensSkipped.duplicate).toBeGreaterThan(0)
  })
})

describe('windowed detection', () => {
  test('finds a watermarked passage pasted into human text, with a corrected p-value', () => {
    const key = keyFor('kgw', 77)
    const V = 200_019
    const sampler = watermarkSampler(key, {}, seededRng(4))
    const rng = seededRng(8)
    const logits = new Float32Array(V)
    const human = ids.subarray(5000, 8000)
    const mixed = new Uint32Array(3000 + 150)
    mixed.set(human.subarray(0, 1500), 0)
    for (let i = 1500; i < 1650; i++) {
      logits.fill(-30)
      for (let j = 0; j < 64; j++) logits[rng.nextU32() % V] = 2 * rng.nextFloat()
      mixed[i] = sampler(logits, mixed.subarray(0, i))
    }
    mixed.set(human.subarray(1500), 1650)
    const r = detect({ tokens: mixed, keys: key, window: true })
    expect(r.window).toBeDefined()
    const w = r.window!
    expect(w.log10P).toBeLessThan(-6)
    expect(w.log10P).toBeGreaterThan(w.log10PUncorrected) // the correction was applied
    expect(w.log10P - w.log10PUncorrected).toBeCloseTo(Math.log10(w.windowsExamined), 6)
    // the span overlaps the pasted passage substantially
    const overlap = Math.min(w.endToken, 1650) - Math.max(w.startToken, 1500)
    expect(overlap).toBeGreaterThan(100)
    // the whole-text test is far weaker than the window
    expect(r.log10P).toBeGreaterThan(w.log10P)
  })

  test('the corrected window p-value is valid on human text; the uncorrected one is not', () => {
    const N = 200
    let corrected = 0
    let uncorrected = 0
    for (let k = 0; k < N; k++) {
      const key = keyFor('kgw', 20_000 + k)
      const s = (k * 997) % (ids.length - 600)
      const r = detect({ tokens: ids.subarray(s, s + 600), keys: key, window: true })
      if (r.window!.pValue < 0.01) corrected++
      if (10 ** r.window!.log10PUncorrected < 0.01) uncorrected++
    }
    const bound = binomialQuantile(N, 0.01, 0.999)
    expect(corrected).toBeLessThan(bound)
    expect(uncorrected).toBeGreaterThan(bound)
  })
})

describe('offsets in the caller text', () => {
  test('window and marks report offsets in the original text when normalisation removed characters', () => {
    const tk = getTokenizer('o200k_base')
    const key = keyFor('kgw', 91)
    const V = tk.vocabSize
    const sampler = watermarkSampler(key, {}, seededRng(12))
    const rng = seededRng(13)
    const logits = new Float32Array(V)
    // watermarked ids over ordinary English word tokens, so the decoded passage re-encodes to the same ids
    const ids0 = getTokenizer('o200k_base').encode(mobyDickText())
    const words = [...new Set(ids0.subarray(0, 20_000))].filter((t) => /^ [a-z]+$/.test(tk.decode([t]))).slice(0, 400)
    const ids = new Uint32Array(200)
    ids[0] = words[0]
    for (let i = 1; i < ids.length; i++) {
      logits.fill(-30)
      for (const w of words) logits[w] = rng.nextFloat()
      ids[i] = sampler(logits, ids.subarray(0, i))
    }
    const passage = tk.decode(ids)
    const human = mobyDickText().slice(100_000, 103_000)
    // zero-width spaces before the passage shift every later offset in the original text
    const original = human.slice(0, 1500).replace(/ /g, ' \u200b') + passage + human.slice(1500)
    const r = detect({ text: original, keys: key, window: true, marks: true })
    expect(r.normalization!.changes.invisible).toBeGreaterThan(100)
    const w = r.window!
    expect(w.log10P).toBeLessThan(-6)
    const start = original.indexOf(passage)
    const span = original.slice(w.startChar, w.endChar)
    // the span lies on the pasted passage of the original text; unmapped offsets would sit ~250 characters
    // earlier (the zero-width spaces removed before it), so a 60-character tolerance tells them apart
    const removedBefore = (original.slice(0, start).match(/\u200b/g) ?? []).length
    expect(removedBefore).toBeGreaterThan(200)
    expect(w.startChar!).toBeGreaterThanOrEqual(start - 60)
    expect(w.endChar!).toBeLessThanOrEqual(start + passage.length + 60)
    expect(span.length).toBeGreaterThan(200)
    // marks index the original text too: each scored mark's slice is the token's text
    const m = r.marks!.find((x) => x.start! > start + 10 && x.reason === 'scored')!
    expect(original.slice(m.start, m.end).replace(/\u200b/g, '')).toBe(tk.decode([m.token]))
  })
})
