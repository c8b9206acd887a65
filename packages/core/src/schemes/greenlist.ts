/**
 * Green-list watermarking shared by `kgw` and `unigram` (Kirchenbauer et al. 2023, §2; Zhao et al.
 * 2024): a token is green when lane 0 of its PRF word is below γ·2^32, so P[green] = threshold/2^32
 * exactly under H0. Embedding biases green tokens by δ (in nats of the sampling distribution).
 */
import type { Rng } from '../rng.js'
import { CandidateDistribution, type NextTokenSampler, type ResolvedSampling } from '../sampling.js'
import type { KeyedPrf, Seeding } from '../seeding.js'
import type { PreparedScheme } from './types.js'

/** Integer threshold for γ: green iff word < threshold. */
export function greenThreshold(gamma: number): number {
  return Math.min(4294967295, Math.max(1, Math.round(gamma * 4294967296)))
}

export function prepareGreenList(seeding: Seeding, gamma: number, delta: number): PreparedScheme {
  const threshold = greenThreshold(gamma)
  const acceptRed = Math.exp(-delta)
  return {
    seeding,
    nullModel: { kind: 'binomial', p: threshold / 4294967296, trialsPerToken: 1 },
    statistic: 'greenCount',
    observe: (w0) => (w0 < threshold ? 1 : 0),

    embedder(prf: KeyedPrf, sampling: ResolvedSampling, rng: Rng): NextTokenSampler {
      const dist = new CandidateDistribution()
      return (logits, context, ids) => {
        dist.prepare(logits, sampling, ids)
        if (context.length < prf.need) return dist.sample(rng)
        prf.setContext(context, context.length)
        // Exact sampling from p'(x) ∝ p(x)·e^{δ·green(x)} by rejection: propose x ~ p, accept a green
        // proposal always and a red one with probability e^{−δ}. Only proposed tokens need the PRF
        // (expected proposals ≤ e^δ), instead of a pass over the whole vocabulary.
        for (;;) {
          const tok = dist.sample(rng)
          if (prf.lane0(tok) < threshold) return tok
          if (rng.nextFloat() < acceptRed) return tok
        }
      }
    },

    biasLogits(prf: KeyedPrf, logits: Float32Array, context: Uint32Array, out: Float32Array): Float32Array {
      if (out !== logits) out.set(logits)
      if (context.length < prf.need) return out
      prf.setContext(context, context.length)
      const V = logits.length
      for (let i = 0; i < V; i++) if (prf.lane0(i) < threshold) out[i] += delta
      return out
    },
  }
}
