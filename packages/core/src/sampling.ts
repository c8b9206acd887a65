/**
 * Turning logits into a sampling distribution: temperature, top-k and top-p (nucleus) truncation,
 * as in common LM serving stacks. Every scheme's embed side starts here, and so does plain sampling,
 * so a watermark changes nothing but the choice among the same candidates.
 */
import { TokenmarkError } from './errors.js'
import type { Rng } from './rng.js'

export interface SamplingOptions {
  /** > 0; default 1. */
  temperature?: number
  /** Keep the k most likely tokens; 0 or undefined keeps all. */
  topK?: number
  /** Keep the smallest set of most likely tokens whose mass reaches p; 1 or undefined keeps all. */
  topP?: number
}

/**
 * Picks the next token from logits and the context that precedes it. Logits cover the whole
 * vocabulary, or, when `ids` is given, the candidate tokens `ids` (logits[i] belongs to ids[i]).
 */
export type NextTokenSampler = (logits: Float32Array, context: Uint32Array, ids?: Uint32Array) => number

export interface ResolvedSampling {
  temperature: number
  topK: number
  topP: number
}

export function resolveSampling(opts: SamplingOptions = {}): ResolvedSampling {
  const temperature = opts.temperature ?? 1
  const topK = opts.topK ?? 0
  const topP = opts.topP ?? 1
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new TokenmarkError('E_BAD_PARAM', 'temperature must be a finite number > 0')
  if (!Number.isInteger(topK) || topK < 0) throw new TokenmarkError('E_BAD_PARAM', 'topK must be a whole number ≥ 0 (0 keeps every token)')
  if (!(topP > 0 && topP <= 1)) throw new TokenmarkError('E_BAD_PARAM', 'topP must be in (0, 1]')
  return { temperature, topK, topP }
}

/**
 * A reusable candidate distribution. After `prepare`, candidates are `ids[0..n)` (or the whole
 * vocabulary when `full`), `weight[i]` is the unnormalised probability exp((l_i − max)/τ) and
 * `cdf[i]` its running sum, so a draw is one binary search.
 */
export class CandidateDistribution {
  n = 0
  full = true
  total = 0
  ids: Uint32Array = new Uint32Array(0)
  weight: Float64Array = new Float64Array(0)
  cdf: Float64Array = new Float64Array(0)
  /** Candidate logits when not `full` (aligned with `ids`). */
  private lg: Float64Array = new Float64Array(0)

  private ensure(cap: number): void {
    if (this.weight.length < cap) {
      this.ids = new Uint32Array(cap)
      this.weight = new Float64Array(cap)
      this.cdf = new Float64Array(cap)
      this.lg = new Float64Array(cap)
    }
  }

  /** Token id of candidate i. */
  id(i: number): number {
    return this.full ? i : this.ids[i]
  }

  /**
   * Builds the distribution from logits over the whole vocabulary, or — when `ids` is given — from
   * logits of a candidate subset (`logits[i]` belongs to token `ids[i]`, e.g. a model's own top-k),
   * which is exact whenever the tokens left out could not be sampled anyway.
   */
  prepare(logits: Float32Array, s: ResolvedSampling, ids?: Uint32Array): void {
    const V = logits.length
    if (V === 0) throw new TokenmarkError('E_BAD_INPUT', 'logits are empty')
    if (ids !== undefined && ids.length !== V) throw new TokenmarkError('E_BAD_INPUT', 'candidate ids and logits must have the same length')
    const invT = 1 / s.temperature
    if (s.topK > 0 && s.topK < V) {
      this.selectTopK(logits, s.topK, ids)
    } else if (ids !== undefined) {
      this.ensure(V)
      this.full = false
      this.n = V
      for (let i = 0; i < V; i++) {
        this.ids[i] = ids[i]
        this.lg[i] = logits[i]
      }
    } else {
      this.ensure(V)
      this.full = true
      this.n = V
    }
    const n = this.n
    const lg = this.lg
    let max = -Infinity
    if (this.full) {
      for (let i = 0; i < V; i++) if (logits[i] > max) max = logits[i]
    } else {
      for (let i = 0; i < n; i++) if (lg[i] > max) max = lg[i]
    }
    if (!Number.isFinite(max)) throw new TokenmarkError('E_BAD_INPUT', 'logits must contain a finite maximum')
    const w = this.weight
    const c = this.cdf
    let sum = 0
    if (this.full) {
      for (let i = 0; i < V; i++) {
        const x = Math.exp((logits[i] - max) * invT)
        w[i] = x
        sum += x
        c[i] = sum
      }
    } else {
      for (let i = 0; i < n; i++) {
        const x = Math.exp((lg[i] - max) * invT)
        w[i] = x
        sum += x
        c[i] = sum
      }
    }
    this.total = sum
    if (s.topP < 1) this.applyTopP(s.topP)
  }

  /** Index of the candidate whose cdf interval holds u·total (u in [0, 1)). */
  draw(u: number): number {
    const target = u * this.total
    const c = this.cdf
    let lo = 0
    let hi = this.n - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (c[mid] > target) hi = mid
      else lo = mid + 1
    }
    // Skip zero-weight candidates that share the boundary.
    while (lo < this.n - 1 && this.weight[lo] === 0) lo++
    return lo
  }

  sample(rng: Rng): number {
    return this.id(this.draw(rng.nextFloat()))
  }

  private selectTopK(logits: Float32Array, k: number, src?: Uint32Array): void {
    this.ensure(k)
    this.full = false
    const ids = this.ids
    const vals = this.lg
    // Sorted-descending insertion list of size k: one pass, O(V + k·inserts); ties keep the lower index.
    let n = 0
    const V = logits.length
    for (let i = 0; i < V; i++) {
      const x = logits[i]
      if (n === k && !(x > vals[k - 1])) continue
      let j = n < k ? n++ : k - 1
      while (j > 0 && vals[j - 1] < x) {
        vals[j] = vals[j - 1]
        ids[j] = ids[j - 1]
        j--
      }
      vals[j] = x
      ids[j] = src === undefined ? i : src[i]
    }
    this.n = n
  }

  private applyTopP(p: number): void {
    // Candidates with weight below eps·total can together hold at most (1-p)/2 of the mass, so the
    // nucleus lies among the others; only those are sorted.
    const n = this.n
    const eps = (1 - p) / (2 * n)
    const keep: number[] = []
    for (let i = 0; i < n; i++) if (this.weight[i] >= eps * this.total) keep.push(i)
    keep.sort((a, b) => this.weight[b] - this.weight[a] || this.id(a) - this.id(b))
    let mass = 0
    let m = 0
    while (m < keep.length && mass < p * this.total) mass += this.weight[keep[m++]]
    const chosen = keep.slice(0, m).sort((a, b) => a - b)
    const ids = new Uint32Array(m)
    const w = new Float64Array(m)
    for (let i = 0; i < m; i++) {
      ids[i] = this.id(chosen[i])
      w[i] = this.weight[chosen[i]]
    }
    this.ensure(m)
    this.full = false
    this.n = m
    let sum = 0
    for (let i = 0; i < m; i++) {
      this.ids[i] = ids[i]
      this.weight[i] = w[i]
      sum += w[i]
      this.cdf[i] = sum
    }
    this.total = sum
  }
}

/** Unwatermarked sampling with the same candidate rules as every scheme. */
export function plainSampler(sampling: SamplingOptions, rng: Rng): NextTokenSampler {
  const s = resolveSampling(sampling)
  const dist = new CandidateDistribution()
  return (logits, _context, ids) => {
    dist.prepare(logits, s, ids)
    return dist.sample(rng)
  }
}
