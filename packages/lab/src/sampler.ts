/**
 * Next-token samplers over a full logits vector. `NextTokenSampler` is the shape core's samplers have
 * (`plainSampler` and every watermark sampler): given the logits for the next position and the tokens so
 * far, return the next token id. The generation loop takes any such function, so a watermark scheme
 * plugs in unchanged. The plain sampler here applies temperature, then top-k, then top-p (nucleus; Holtzman
 * et al. 2020) on the top-k-renormalised distribution — the order Hugging Face `generate` uses.
 */
import type { NextTokenSampler } from '@tokenmark/core'
import { checkInt, checkRange } from './errors.js'
import type { Rng } from './rng.js'

/** Picks the next token from the logits (length vocabSize) and the context tokens so far: core's type. */
export type { NextTokenSampler }

export interface SamplingOptions {
  /** Softmax temperature; 0 = greedy (argmax, lowest id on ties). Default 1. */
  temperature?: number
  /** Keep only the k most probable tokens; 0 = off (default). */
  topK?: number
  /** Keep the smallest most-probable set with mass ≥ topP; 1 = off (default). */
  topP?: number
}

export function checkSampling(o: SamplingOptions): Required<SamplingOptions> {
  const temperature = o.temperature ?? 1
  const topK = o.topK ?? 0
  const topP = o.topP ?? 1
  checkRange('temperature', temperature, 0, 1e6)
  checkInt('topK', topK, 0, 0x7fffffff)
  checkRange('topP', topP, Number.MIN_VALUE, 1)
  return { temperature, topK, topP }
}

/** Width of a truncation bucket in units of (logit − max) / T: each bucket spans a factor e^4.6 ≈ 100 in weight. */
const BUCKET = 4.6
const BUCKETS = 64

/**
 * An unwatermarked sampler drawing from softmax(logits / T), optionally truncated, with a seeded RNG.
 * One pass computes the weights; runs of equal logits (an n-gram model gives every id it never saw the
 * same one) reuse one `Math.exp`. Truncation buckets the ids by weight in one more pass and sorts only the
 * bucket where the top-k count or the top-p mass is reached (weight descending, id ascending).
 */
export function plainSampler(options: SamplingOptions, rng: Pick<Rng, 'nextFloat'>): NextTokenSampler {
  const { temperature, topK, topP } = checkSampling(options)
  let w = new Float64Array(0)
  let bucketOf = new Uint8Array(0)
  let byBucket = new Int32Array(0)
  const start = new Int32Array(BUCKETS + 1)
  return (logits: Float32Array): number => {
    const V = logits.length
    let best = 0
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i
    if (temperature === 0) return best
    if (w.length !== V) {
      w = new Float64Array(V)
      bucketOf = new Uint8Array(V)
      byBucket = new Int32Array(V)
    }
    const max = logits[best]
    const invT = 1 / temperature
    let total = 0
    let lastX = Number.NaN
    let lastE = 0
    for (let i = 0; i < V; i++) {
      const x = logits[i]
      if (x !== lastX) {
        lastX = x
        lastE = Math.exp((x - max) * invT)
      }
      w[i] = lastE
      total += lastE
    }
    if (topK === 0 && topP >= 1) {
      let u = rng.nextFloat() * total
      for (let i = 0; i < V; i++) {
        u -= w[i]
        if (u < 0) return i
      }
      return best
    }
    // Bucket b holds weights in (e^{−4.6(b+1)}, e^{−4.6b}]: every id in a bucket outweighs every id in later ones.
    start.fill(0)
    for (let i = 0; i < V; i++) {
      const b = Math.min(BUCKETS - 1, Math.floor(((max - logits[i]) * invT) / BUCKET))
      bucketOf[i] = b
      start[b + 1]++
    }
    for (let b = 0; b < BUCKETS; b++) start[b + 1] += start[b]
    const cursor = start.slice(0, BUCKETS)
    for (let i = 0; i < V; i++) byBucket[cursor[bucketOf[i]]++] = i // ids ascending within a bucket
    const byWeight = (a: number, b: number) => w[b] - w[a] || a - b
    let n = 0 // kept = byBucket[0 .. n)
    let mass = 0
    const target = topP * total
    for (let b = 0; b < BUCKETS; b++) {
      const lo = start[b]
      const hi = start[b + 1]
      if (lo === hi) continue
      let bucketMass = 0
      for (let j = lo; j < hi; j++) bucketMass += w[byBucket[j]]
      const countDone = topK > 0 && n + (hi - lo) >= topK
      const massDone = topK === 0 && mass + bucketMass >= target
      if (!countDone && !massDone) {
        n = hi
        mass += bucketMass
        continue
      }
      // The boundary bucket: order it (unless all its weights are equal: then ids ascending already are).
      const bucket = byBucket.subarray(lo, hi)
      let equal = true
      for (let j = 1; j < bucket.length && equal; j++) equal = w[bucket[j]] === w[bucket[0]]
      if (!equal) bucket.sort(byWeight)
      for (let j = lo; j < hi; j++) {
        n++
        mass += w[byBucket[j]]
        if (topK > 0 ? n >= topK : mass >= target) break
      }
      break
    }
    let kept = byBucket.subarray(0, n)
    if (topK > 0 && topP < 1) {
      // nucleus of the top-k set, on its renormalised mass
      kept = kept.slice().sort(byWeight)
      let acc = 0
      let m = 0
      while (m < kept.length && acc < topP * mass) acc += w[kept[m++]]
      kept = kept.subarray(0, Math.max(1, m))
      mass = acc > 0 ? acc : w[kept[0]]
    }
    let u = rng.nextFloat() * mass
    for (let j = 0; j < kept.length; j++) {
      u -= w[kept[j]]
      if (u < 0) return kept[j]
    }
    return kept[kept.length - 1]
  }
}
