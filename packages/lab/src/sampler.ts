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

/** An unwatermarked sampler drawing from softmax(logits / T), optionally truncated, with a seeded RNG. */
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
    for (let i = 0; i < V; i++) total += w[i] = Math.exp((logits[i] - max) * invT)
    if (topK === 0 && topP >= 1) {
      let u = rng.nextFloat() * total
      for (let i = 0; i < V; i++) {
        u -= w[i]
        if (u < 0) return i
      }
      return best
    }
    // Collect {i : w[i] ≥ τ} for a falling τ until it holds the top-k set or the nucleus; it is always a
    // prefix of the tokens sorted by probability, so sorting only that set is exact.
    let kept: number[] = []
    for (let tau = 1e-3; ; tau = tau > 1e-30 ? tau * 1e-3 : 0) {
      kept = []
      let mass = 0
      for (let i = 0; i < V; i++) {
        if (w[i] >= tau) {
          kept.push(i)
          mass += w[i]
        }
      }
      if (tau === 0 || (topK > 0 ? kept.length >= topK : mass >= topP * total)) break
    }
    kept.sort((a, b) => w[b] - w[a] || a - b)
    if (topK > 0 && kept.length > topK) kept.length = topK
    let mass = 0
    for (const i of kept) mass += w[i]
    if (topP < 1) {
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
