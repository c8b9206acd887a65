/**
 * Next-token samplers over a full logits vector. `NextTokenSampler` is the shape core's samplers have
 * (`plainSampler` and every watermark sampler): given the logits for the next position and the tokens so
 * far, return the next token id. The generation loop takes any such function, so a watermark scheme
 * plugs in unchanged. The plain sampler here applies temperature, then top-k, then top-p (nucleus; Holtzman
 * et al. 2020) on the top-k-renormalised distribution — the order Hugging Face `generate` uses.
 */
import { checkInt, checkRange } from './errors.js'
import type { Rng } from './rng.js'

/** Picks the next token from the logits (length vocabSize) and the context tokens so far. */
export type NextTokenSampler = (logits: Float32Array, context: Uint32Array) => number

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

/**
 * An unwatermarked sampler drawing from softmax(logits / T), optionally truncated, with a seeded RNG.
 * One pass computes the weights; runs of equal logits (an n-gram model gives every id it never saw the
 * same one) reuse one `Math.exp`. Truncation sorts only what it must: tokens are taken in bands of
 * falling weight, each band sorted (weight descending, id ascending) only when it is reached.
 */
export function plainSampler(options: SamplingOptions, rng: Rng): NextTokenSampler {
  const { temperature, topK, topP } = checkSampling(options)
  let w = new Float64Array(0)
  return (logits: Float32Array): number => {
    const V = logits.length
    let best = 0
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i
    if (temperature === 0) return best
    if (w.length !== V) w = new Float64Array(V)
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
    if (topK === 0 && topP >= 1) return draw(w, V, rng.nextFloat() * total, best)
    const kept: number[] = []
    let mass = 0
    let done = false
    const byWeight = (a: number, b: number) => w[b] - w[a] || a - b
    for (let hi = Infinity, tau = 1e-2; !done; hi = tau, tau = tau > 1e-300 ? tau * 1e-2 : 0) {
      const band: number[] = []
      for (let i = 0; i < V; i++) if (w[i] >= tau && w[i] < hi) band.push(i)
      band.sort(byWeight)
      for (const i of band) {
        kept.push(i)
        mass += w[i]
        if ((topK > 0 && kept.length >= topK) || (topK === 0 && mass >= topP * total)) {
          done = true
          break
        }
      }
      if (tau === 0) done = true
    }
    if (topK > 0 && topP < 1) {
      // nucleus of the top-k set, on its renormalised mass
      let acc = 0
      let n = 0
      while (n < kept.length && acc < topP * mass) acc += w[kept[n++]]
      kept.length = Math.max(1, n)
      mass = acc > 0 ? acc : w[kept[0]]
    }
    let u = rng.nextFloat() * mass
    for (const i of kept) {
      u -= w[i]
      if (u < 0) return i
    }
    return kept[kept.length - 1]
  }
}

/** Index where the running sum of w passes u (fallback: `fallback`, for rounding at the very end). */
function draw(w: Float64Array, V: number, u: number, fallback: number): number {
  for (let i = 0; i < V; i++) {
    u -= w[i]
    if (u < 0) return i
  }
  return fallback
}
