/**
 * Sampling options of the generation loop. The samplers themselves are core's: `plainSampler` and every
 * watermark sampler share core's `CandidateDistribution` (temperature, then top-k, then top-p on the
 * top-k-renormalised mass — the order Hugging Face `generate` uses), so a watermark changes nothing but
 * the choice among the same candidates. The one thing core's sampler does not do is temperature 0
 * (greedy); the generation loop does that itself.
 */
import type { NextTokenSampler } from '@tokenmark/core'
import { checkInt, checkRange } from './errors.js'

/** Picks the next token from logits and the context tokens so far (optionally over candidate ids): core's type. */
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
