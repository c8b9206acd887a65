/**
 * `synthid`: tournament sampling with m layers of Bernoulli(½) g-values and 2 candidates per match
 * (Dathathri et al., "Scalable watermarking for identifying large language model outputs", Nature 2024).
 * g_l(x) = bit l of lane 0 of the candidate's PRF word (l = 0..m−1, so m ≤ 32).
 * Embed uses the closed form of a 2-candidate tournament layer over top-k candidates:
 *   p_l(x) = p_{l−1}(x) · (1 + g_l(x) − E_{p_{l−1}}[g_l])      (the paper's vectorised tournament)
 * Score: the sum of g over layers; under H0 the T·m bits of T distinct tuples are iid Bernoulli(½),
 * so the total is Binomial(T·m, ½) — an exact test of the mean score.
 */
import type { Rng } from '../rng.js'
import { CandidateDistribution, type NextTokenSampler, type ResolvedSampling } from '../sampling.js'
import type { KeyedPrf } from '../seeding.js'
import { numberParam, rejectUnknown, seedingParam } from './params.js'
import type { Scheme, SchemeParams } from './types.js'

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555)
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24)
}

export const synthid: Scheme = {
  id: 'synthid',
  title: 'SynthID-Text tournament watermark',
  citation: 'Dathathri et al., "Scalable watermarking for identifying large language model outputs", Nature 634, 2024',
  parseParams(raw) {
    rejectUnknown(raw, ['layers', 'topK', 'seeding', 'context'], 'synthid')
    const seeding = seedingParam(raw, ['lefthash', 'selfhash'], 'lefthash')
    return {
      layers: numberParam(raw, 'layers', 30, { min: 1, max: 32, integer: true }),
      topK: numberParam(raw, 'topK', 40, { min: 2, max: 1024, integer: true }),
      seeding,
      context: numberParam(raw, 'context', 4, { min: seeding === 'selfhash' ? 2 : 1, max: 16, integer: true }),
    }
  },
  prepare(p: SchemeParams) {
    const m = p.layers as number
    const mask = m === 32 ? 0xffffffff : (1 << m) - 1
    const topK = p.topK as number
    return {
      seeding: { rule: p.seeding as 'lefthash' | 'selfhash', context: p.context as number },
      nullModel: { kind: 'binomial', p: 0.5, trialsPerToken: m },
      statistic: 'gSum',
      observe: (w0) => popcount(w0 & mask),
      embedder(prf: KeyedPrf, sampling: ResolvedSampling, rng: Rng): NextTokenSampler {
        const dist = new CandidateDistribution()
        // The tournament runs over the scheme's top-k (or the caller's, if smaller).
        const s: ResolvedSampling = { ...sampling, topK: sampling.topK > 0 ? Math.min(sampling.topK, topK) : topK }
        let g = new Uint32Array(0)
        let q = new Float64Array(0)
        return (logits, context, ids) => {
          dist.prepare(logits, s, ids)
          if (context.length < prf.need) return dist.sample(rng)
          prf.setContext(context, context.length)
          const n = dist.n
          if (g.length < n) {
            g = new Uint32Array(n)
            q = new Float64Array(n)
          }
          const inv = 1 / dist.total
          for (let i = 0; i < n; i++) {
            g[i] = prf.lane0(dist.id(i))
            q[i] = dist.weight[i] * inv
          }
          for (let l = 0; l < m; l++) {
            let mean = 0
            for (let i = 0; i < n; i++) mean += q[i] * ((g[i] >>> l) & 1)
            for (let i = 0; i < n; i++) q[i] *= 1 + ((g[i] >>> l) & 1) - mean
          }
          let u = rng.nextFloat()
          for (let i = 0; i < n; i++) {
            u -= q[i]
            if (u < 0) return dist.id(i)
          }
          // Rounding left u ≥ 0: take the last candidate with mass.
          for (let i = n - 1; i >= 0; i--) if (q[i] > 0) return dist.id(i)
          return dist.id(0)
        }
      },
    }
  },
}
