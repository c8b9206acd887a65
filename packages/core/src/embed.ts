/**
 * The embed side: samplers that watermark, for a serving loop or the lab's generator. Each scheme's
 * embed rule lives in its scheme file and uses the same KeyedPrf as scoring (scoring.ts).
 */
import { TokenmarkError } from './errors.js'
import type { WatermarkKey } from './keys.js'
import type { Rng } from './rng.js'
import { resolveSampling, type NextTokenSampler, type SamplingOptions } from './sampling.js'
import { prepareKey } from './scoring.js'

/** A sampler that draws the next token with `key`'s watermark, using `rng` for non-watermark randomness. */
export function watermarkSampler(key: WatermarkKey, sampling: SamplingOptions, rng: Rng): NextTokenSampler {
  const pk = prepareKey(key)
  return pk.scheme.embedder(pk.prf, resolveSampling(sampling), rng)
}

/**
 * Logits-processor integration for green-list schemes (kgw, unigram): returns `logits` plus δ on
 * every green token of this position, so an existing sampler can draw from it. Writes into `out`
 * (default: a new array; pass `logits` itself to work in place).
 */
export function biasLogits(key: WatermarkKey, logits: Float32Array, context: Uint32Array, out?: Float32Array): Float32Array {
  const pk = prepareKey(key)
  if (!pk.scheme.biasLogits) {
    throw new TokenmarkError('E_BAD_PARAM', `scheme ${key.scheme} has no logits-bias form; use watermarkSampler`)
  }
  return pk.scheme.biasLogits(pk.prf, logits, context, out ?? new Float32Array(logits.length))
}
