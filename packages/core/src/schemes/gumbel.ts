/**
 * `gumbel`: distortion-free exponential / Gumbel-max sampling (Aaronson 2022; Kuditipudi et al. 2023;
 * scored as in Fernandez et al. 2023, "Three Bricks", §III).
 * Embed: x = argmax_i r_i^{1/p_i} = argmin_i E_i / p_i with E_i = −ln r_i, r_i the candidate's PRF
 * uniform. Over the key's randomness this draws exactly from p (an exponential race).
 * Score: s_t = −ln(1 − r_t); under H0 each s_t ~ Exp(1), so the sum over T distinct tuples ~ Gamma(T, 1).
 * The embed step draws nothing but the key's randomness, so a repeated context would repeat its token:
 * positions whose context was already used in the generation are sampled plainly (history.ts,
 * docs/spec.md#repeated-contexts).
 */
import { ContextHistory } from '../history.js'
import { uniformFromWords } from '../prf.js'
import type { Rng } from '../rng.js'
import { CandidateDistribution, type NextTokenSampler, type ResolvedSampling } from '../sampling.js'
import type { KeyedPrf } from '../seeding.js'
import { numberParam, rejectUnknown, seedingParam } from './params.js'
import type { Scheme, SchemeParams } from './types.js'

const TWO_POW_M20 = 2 ** -20

/**
 * The exponential race over the whole vocabulary without computing a single softmax weight for
 * candidates that cannot win. Candidate i wins only if E_i·e^{−(l_i−max)/τ} < best. With c the
 * number of leading one bits of lane 0 (c ≤ 19), r < 1 − 2^−(c+1), so E_i ≥ 1 − r > 2^−(c+1); the
 * candidate is skipped when 2^−(c+1)·e^{−(l_i−max)/τ} ≥ best, i.e. l_i ≤ max − τ·((c+1)·ln 2 + ln best).
 * Those 20 thresholds change only when `best` improves. Same winner as the weighted loop, exactly.
 */
function raceOverLogits(prf: KeyedPrf, logits: Float32Array, temperature: number): number {
  const V = logits.length
  let max = -Infinity
  let argmax = 0
  for (let i = 0; i < V; i++) {
    if (logits[i] > max) {
      max = logits[i]
      argmax = i
    }
  }
  const invT = 1 / temperature
  const score = (tok: number): number => {
    prf.words(tok)
    return -Math.log(uniformFromWords(prf.w0, prf.w1)) / Math.exp((logits[tok] - max) * invT)
  }
  let best = score(argmax)
  let bestId = argmax
  const thr = new Float64Array(20)
  const setThresholds = () => {
    // A margin of 1e-9 nats keeps rounding from skipping a true winner.
    for (let c = 0; c < 20; c++) thr[c] = max - temperature * ((c + 1) * Math.LN2 + Math.log(best)) - 1e-9
  }
  setThresholds()
  for (let i = 0; i < V; i++) {
    if (i === argmax) continue
    const l = logits[i]
    if (l === -Infinity) continue
    const c = Math.clz32(~prf.lane0(i))
    if (c < 20 && l <= thr[c]) continue
    const v = score(i)
    if (v < best || (v === best && i < bestId)) {
      best = v
      bestId = i
      setThresholds()
    }
  }
  return bestId
}

export const gumbel: Scheme = {
  id: 'gumbel',
  title: 'Gumbel-max / exponential watermark (distortion-free)',
  citation: 'Aaronson 2022; Kuditipudi et al., "Robust Distortion-free Watermarks", 2023; Fernandez et al., "Three Bricks", WIFS 2023',
  parseParams(raw) {
    rejectUnknown(raw, ['seeding', 'context'], 'gumbel')
    const seeding = seedingParam(raw, ['lefthash', 'selfhash'], 'lefthash')
    return {
      seeding,
      context: numberParam(raw, 'context', 4, { min: seeding === 'selfhash' ? 2 : 1, max: 16, integer: true }),
    }
  },
  prepare(p: SchemeParams) {
    return {
      seeding: { rule: p.seeding as 'lefthash' | 'selfhash', context: p.context as number },
      nullModel: { kind: 'gamma' },
      statistic: 'scoreSum',
      observe: (w0, w1) => -Math.log1p(-uniformFromWords(w0, w1)),
      embedder(prf: KeyedPrf, sampling: ResolvedSampling, rng: Rng): NextTokenSampler {
        const dist = new CandidateDistribution()
        const untruncated = sampling.topK === 0 && sampling.topP === 1
        const history = new ContextHistory()
        return (logits, context, ids) => {
          if (!history.firstUse(prf, context)) {
            dist.prepare(logits, sampling, ids)
            return dist.sample(rng)
          }
          if (untruncated && ids === undefined) return raceOverLogits(prf, logits, sampling.temperature)
          dist.prepare(logits, sampling, ids)
          const w = dist.weight
          const n = dist.n
          let best = Infinity // min over candidates of E_i / w_i (w unnormalised: same argmin)
          let bestId = dist.id(0)
          for (let i = 0; i < n; i++) {
            const wi = w[i]
            if (wi === 0) continue
            const tok = dist.id(i)
            const w0 = prf.lane0(tok)
            // E = −ln r ≥ 1 − r, and r < ((w0>>>12)+1)·2^−20, so 1 − ((w0>>>12)+1)·2^−20 bounds E from
            // below; a candidate whose bound already loses is skipped before the second lane and the log.
            if (1 - ((w0 >>> 12) + 1) * TWO_POW_M20 >= best * wi) continue
            prf.words(tok)
            const e = -Math.log(uniformFromWords(prf.w0, prf.w1))
            const v = e / wi
            if (v < best) {
              best = v
              bestId = tok
            }
          }
          return bestId
        }
      },
    }
  },
}
