import type { Rng } from '../rng.js'
import type { NextTokenSampler, ResolvedSampling } from '../sampling.js'
import type { KeyedPrf, Seeding } from '../seeding.js'

export type SchemeId = 'kgw' | 'gumbel' | 'synthid' | 'unigram'
export type ParamValue = number | string
/** Canonical scheme parameters: every field present, defaults filled, validated. */
export type SchemeParams = Record<string, ParamValue>

/**
 * The distribution of one scored token's observation under H0 (text written without the key).
 * - binomial: the observation counts successes in `trialsPerToken` Bernoulli(p) trials;
 * - gamma: the observation is Exp(1), so a sum over T tokens is Gamma(T, 1).
 */
export type NullModel = { kind: 'binomial'; p: number; trialsPerToken: number } | { kind: 'gamma' }

/** Name of the sufficient statistic as it appears in results. */
export type StatisticName = 'greenCount' | 'scoreSum' | 'gSum'

/** A scheme with its parameters bound: what embed and score both run. */
export interface PreparedScheme {
  readonly seeding: Seeding
  readonly nullModel: NullModel
  readonly statistic: StatisticName
  /** Per-token observation from lanes 0 and 1 of the tuple's PRF output. */
  observe(w0: number, w1: number): number
  /** Returns a sampler that embeds this scheme's watermark. */
  embedder(prf: KeyedPrf, sampling: ResolvedSampling, rng: Rng): NextTokenSampler
  /** Logits-processor form (KGW, unigram): logits plus δ on green tokens, over the whole vocabulary. */
  biasLogits?(prf: KeyedPrf, logits: Float32Array, context: Uint32Array, out: Float32Array): Float32Array
}

export interface Scheme {
  readonly id: SchemeId
  readonly title: string
  readonly citation: string
  /** Validates and completes parameters; throws TokenmarkError E_BAD_PARAM naming the field. */
  parseParams(raw: Record<string, unknown>): SchemeParams
  prepare(params: SchemeParams): PreparedScheme
}
