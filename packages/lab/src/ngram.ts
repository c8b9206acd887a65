/**
 * An n-gram language model over token ids with interpolated modified Kneser–Ney smoothing
 * (Chen & Goodman, "An Empirical Study of Smoothing Techniques for Language Modeling", TR-10-98, 1998,
 * §3.5 and eq. 26 for the three discounts; Kneser & Ney, ICASSP 1995, for continuation counts).
 *
 *   P_k(w | h) = max(c_k(h w) − D_k(c_k(h w)), 0) / c_k(h ·)  +  γ_k(h) · P_{k−1}(w | h′)
 *   γ_k(h)     = (D_k1 · N1(h ·) + D_k2 · N2(h ·) + D_k3+ · N3+(h ·)) / c_k(h ·)
 *   P_0(w)     = (1 − β) / S                  for each of the S ids seen at order 1
 *   P_0(w)     = β / U                        for each of the U = V − S ids never seen
 *
 * `c_k` is the raw count at the highest order and the continuation count N1+(· h w) (number of distinct
 * left neighbours) below it; h′ drops the oldest token of h; a context never seen in training has γ = 1.
 * Discounts per order from counts-of-counts: Y = n1/(n1 + 2 n2), D1 = 1 − 2Y n2/n1, D2 = 2 − 3Y n3/n2,
 * D3+ = 3 − 4Y n4/n3.
 *
 * Every id of the tokenizer's vocabulary stays possible, but the base does not spread the lowest-order
 * back-off mass evenly over all 200k ids (on o200k_base / Moby Dick that put 15 % of the order-1 mass on ids
 * the book never uses, e.g. Devanagari pieces, in generated text). Instead β is set so that the order-1
 * distribution gives never-seen ids, together, the Good–Turing probability of a novel token, n1/N
 * (Good 1953; n1 = ids seen exactly once in N training tokens): γ_1 · β = n1/N, with β at least
 * 1/(S + 1), the share of one extra "unknown" type (KenLM's <unk>), and at most 1. Measured: n1/N = 2.7 %
 * against a held-out rate of ids unseen in training of 3.3 %.
 *
 * Deliberate deviations, one line each:
 * - no sentence-boundary padding: each training sequence is a whole chapter, and a context shorter than
 *   order − 1 (only at the very start of a text) uses the lower-order (continuation-count) estimate;
 * - a discount that the formula makes non-positive or undefined (tiny corpora) falls back to Y, capped at r.
 *
 * Storage: per order, the contexts sit in a `TupleTable` (packed u32 keys, open addressing) and their
 * children in CSR form (typed arrays of word ids sorted within each context and their counts), so a trained
 * model is a few typed arrays and serialises as-is (see serialize.ts).
 */
import { LabError, checkInt } from './errors.js'
import type { Rng } from './rng.js'
import { TupleTable } from './tuple-table.js'

/** The counts that define a model: what `serialize.ts` stores; everything else is derived from them. */
export interface NGramTables {
  /** n: the model conditions on at most n − 1 previous tokens. */
  order: number
  /** Size of the tokenizer's id space (o200k_base: 200,019). */
  vocabSize: number
  /** `levels[k − 1]` holds order k. */
  levels: NGramLevel[]
  /** N: training tokens. */
  tokens: number
  /** n1: ids seen exactly once in training (with `tokens`, the Good–Turing share of unseen ids). */
  singletons: number
}

/** One order k: contexts of k − 1 tokens, each with its children (next tokens) and their counts. */
export interface NGramLevel {
  /** Packed contexts, (k − 1) ids each; empty at order 1 (one empty context). */
  contextKeys: Uint32Array
  /** CSR offsets: children of context i are `childStart[i] .. childStart[i + 1]` (length contexts + 1). */
  childStart: Uint32Array
  /** Child token ids, ascending within each context. */
  childWords: Uint32Array
  /** Raw counts at the highest order, continuation counts below. */
  childCounts: Uint32Array
  /** [D1, D2, D3+]. */
  discounts: Float64Array
}

/** Candidates seen after the longest known context, with their full (interpolated) probabilities. */
export interface SparseDistribution {
  /** Candidate ids, most probable first (ties by id). */
  ids: Uint32Array
  /** P(id | context) for each candidate: the exact model probability, back-off contributions included. */
  probs: Float32Array
  /** 1 − Σ probs: the mass of every other id, spread over them as the lower orders say. */
  backoff: number
  /** Order of the longest context found (1 when no context token was ever seen). */
  order: number
}

/**
 * What generation and the attacks need from a language model. The n-gram model implements it; any other
 * model that can give next-token log-probabilities over the whole vocabulary can too.
 */
export interface LanguageModel {
  readonly vocabSize: number
  /** How many previous tokens the model looks at (n − 1 for an n-gram model). */
  readonly contextLength: number
  /** Log-probabilities over the whole vocabulary (length vocabSize); writes into `out` when given. */
  logits(context: Uint32Array, out?: Float32Array): Float32Array
  nextTokenDistribution(context: Uint32Array): SparseDistribution
  /**
   * Optional: the k most probable next tokens with their exact log-probabilities, most probable first
   * (ties by id). Lets generation hand a top-k sampler k candidates instead of the whole vocabulary.
   */
  topCandidates?(context: Uint32Array, k: number): Candidates
  /** Draws the next token from the model's own distribution (temperature 1). */
  sample(context: Uint32Array, rng: Pick<Rng, 'nextFloat'>): number
  /** Optional: draws from P(· | context)^(1/T), renormalised, without a pass over the vocabulary. */
  sampleTempered?(context: Uint32Array, temperature: number, rng: Pick<Rng, 'nextFloat'>): number
}

/** A candidate subset of the vocabulary: `logits[i]` is the natural-log probability of `ids[i]`. */
export interface Candidates {
  ids: Uint32Array
  logits: Float32Array
}

export interface NGramTrainOptions {
  /** 1–6; default 4. */
  order?: number
  /** The tokenizer's vocabulary size; every id in the training data must be below it. */
  vocabSize: number
}

export interface NGramStats {
  order: number
  vocabSize: number
  /** Distinct n-grams stored per order (index k − 1). */
  ngrams: number[]
  /** Distinct contexts per order (index k − 1). */
  contexts: number[]
  /** [D1, D2, D3+] per order. */
  discounts: number[][]
  /** Bytes held by the count tables and derived arrays (typed arrays only). */
  bytes: number
  /** Training tokens. */
  tokens: number
  /** β: the base distribution's share for never-seen ids. */
  unseenShare: number
}

/** A level with the arrays derived at load time. */
interface Level extends NGramLevel {
  index: TupleTable | null
  alpha: Float64Array
  gamma: Float64Array
}

export class NGramModel implements LanguageModel {
  readonly order: number
  readonly vocabSize: number
  readonly contextLength: number
  private readonly levels: Level[]
  /** Lowest-order (order-1, interpolated with uniform) probabilities over the whole vocabulary. */
  private readonly p1: Float64Array
  private readonly logP1: Float64Array
  /** Cumulative order-1 alpha over level-1 children, for sampling. */
  private readonly alpha1Cdf: Float64Array
  /** β: P_0's share for the ids never seen at order 1. */
  private readonly unseenShare: number
  private readonly tokens: number
  private readonly singletons: number
  // Per-query scratch (a model is not re-entrant; JavaScript is single-threaded).
  private readonly ctxIdx: Int32Array
  private readonly gAfter: Float64Array
  private readonly scratch: Float64Array
  /** Ids by P_1 descending (ties by id), computed on the first `topCandidates` call. */
  private byP1: Uint32Array | undefined
  /** stamp[w] === stampNow marks w as seen at some matched order ≥ 2 in the current query. */
  private stamp: Uint32Array | undefined
  private stampNow = 0
  /** fin[w]: P(w | context) for the stamped ids of the current `topCandidates` query. */
  private fin: Float64Array | undefined
  /** Cumulative P_1(w)^(1/T) over the vocabulary, for `sampleTempered` at temperature `tempT`. */
  private tempCdf: Float64Array | undefined
  private tempT = Number.NaN

  /** Builds a model from its count tables (as `train` or `loadModel` produce them). */
  constructor(tables: NGramTables) {
    const { order, vocabSize, levels, tokens, singletons } = tables
    checkInt('order', order, 1, 6)
    checkInt('vocabSize', vocabSize, 1, 0x7fffffff)
    if (!(Number.isInteger(tokens) && Number.isInteger(singletons) && tokens > 0 && singletons >= 0 && singletons <= tokens)) {
      throw new LabError('E_MODEL_FORMAT', 'tokens must be a positive integer and singletons an integer in [0, tokens]')
    }
    this.tokens = tokens
    this.singletons = singletons
    if (levels.length !== order) throw new LabError('E_MODEL_FORMAT', `model has ${levels.length} levels for order ${order}`)
    this.order = order
    this.vocabSize = vocabSize
    this.contextLength = order - 1
    this.levels = levels.map((lv, i) => deriveLevel(lv, i + 1, vocabSize))
    const l1 = this.levels[0]
    const g1 = l1.gamma[0]
    const S = l1.childWords.length
    const U = vocabSize - S
    const beta = U === 0 ? 0 : S === 0 || g1 === 0 ? 1 : Math.min(1, Math.max(1 / (S + 1), singletons / tokens / g1))
    this.unseenShare = beta
    this.p1 = new Float64Array(vocabSize).fill(U > 0 ? (g1 * beta) / U : 0)
    const baseSeen = S > 0 ? (1 - beta) / S : 0
    this.alpha1Cdf = new Float64Array(l1.childWords.length)
    let acc = 0
    for (let j = 0; j < l1.childWords.length; j++) {
      this.p1[l1.childWords[j]] = l1.alpha[j] + g1 * baseSeen
      acc += l1.alpha[j]
      this.alpha1Cdf[j] = acc
    }
    this.logP1 = new Float64Array(vocabSize)
    for (let w = 0; w < vocabSize; w++) this.logP1[w] = Math.log(this.p1[w])
    this.ctxIdx = new Int32Array(order + 1)
    this.gAfter = new Float64Array(order + 2)
    this.scratch = new Float64Array(vocabSize)
  }

  /** Counts n-grams in `sequences` (each a whole document; n-grams never cross two) and smooths them. */
  static train(sequences: readonly Uint32Array[], options: NGramTrainOptions): NGramModel {
    return new NGramModel(countNGrams(sequences, options))
  }

  /** The count tables that define this model (shared, not copied: do not mutate). */
  toTables(): NGramTables {
    return {
      order: this.order,
      vocabSize: this.vocabSize,
      tokens: this.tokens,
      singletons: this.singletons,
      levels: this.levels.map(({ contextKeys, childStart, childWords, childCounts, discounts }) => ({
        contextKeys,
        childStart,
        childWords,
        childCounts,
        discounts,
      })),
    }
  }

  /** log P(token | context), natural log. Only the last order − 1 tokens of the context matter. */
  logProb(context: Uint32Array, token: number): number {
    this.checkToken(token)
    return Math.log(this.prob(this.locate(context), token))
  }

  /** Sparse next-token distribution: candidates after the longest known context, plus back-off mass. */
  nextTokenDistribution(context: Uint32Array): SparseDistribution {
    const m = this.locate(context)
    let words: Uint32Array
    if (m === 1) {
      words = this.levels[0].childWords
    } else {
      const lv = this.levels[m - 1]
      const ci = this.ctxIdx[m]
      words = lv.childWords.subarray(lv.childStart[ci], lv.childStart[ci + 1])
    }
    const n = words.length
    const p = new Float64Array(n)
    let sum = 0
    for (let j = 0; j < n; j++) {
      p[j] = this.prob(m, words[j])
      sum += p[j]
    }
    const order = Array.from({ length: n }, (_, j) => j).sort((a, b) => p[b] - p[a] || words[a] - words[b])
    const ids = new Uint32Array(n)
    const probs = new Float32Array(n)
    for (let j = 0; j < n; j++) {
      ids[j] = words[order[j]]
      probs[j] = p[order[j]]
    }
    return { ids, probs, backoff: Math.max(0, 1 - sum), order: m }
  }

  /**
   * Natural-log probabilities over the whole vocabulary, so any logits-based sampler (every core embed
   * function) runs on this model unchanged. One pass writes log(Γ) + log P_1(w) for every id — Γ being the
   * product of the back-off weights of the matched contexts — then only the ids seen after some matched
   * context of order ≥ 2 are patched with their exact interpolated probability.
   */
  logits(context: Uint32Array, out?: Float32Array): Float32Array {
    const V = this.vocabSize
    if (out === undefined) out = new Float32Array(V)
    else if (out.length !== V) throw new LabError('E_BAD_PARAM', `logits: out has length ${out.length}, expected vocabSize ${V}`)
    const m = this.locate(context)
    const gAfter = this.gAfter
    gAfter[m] = 1
    for (let k = m; k >= 2; k--) gAfter[k - 1] = gAfter[k] * this.levels[k - 1].gamma[this.ctxIdx[k]]
    const logG = Math.log(gAfter[1])
    const logP1 = this.logP1
    for (let w = 0; w < V; w++) out[w] = logP1[w] + logG
    const s = this.scratch
    const p1 = this.p1
    for (let k = 2; k <= m; k++) {
      const lv = this.levels[k - 1]
      const ci = this.ctxIdx[k]
      const g = lv.gamma[ci]
      const after = gAfter[k]
      const words = lv.childWords
      const alpha = lv.alpha
      // Children at order k are a subset of those at k − 1, so s[w] already holds P_{k−1}(w) for k > 2.
      for (let j = lv.childStart[ci], end = lv.childStart[ci + 1]; j < end; j++) {
        const w = words[j]
        const pk = alpha[j] + g * (k === 2 ? p1[w] : s[w])
        s[w] = pk
        out[w] = Math.log(pk * after)
      }
    }
    return out
  }

  /**
   * Locates the context and marks (stamps) every id seen after a matched context of order ≥ 2, with its
   * exact probability in fin[w]; returns the matched order, Γ (the product of the matched back-off
   * weights: every unmarked id has P = Γ · P_1(w)) and the stamp of this query.
   */
  private matchSeen(context: Uint32Array): { m: number; G: number; now: number } {
    const V = this.vocabSize
    if (this.stamp === undefined) {
      this.stamp = new Uint32Array(V)
      this.fin = new Float64Array(V)
    }
    const m = this.locate(context)
    const gAfter = this.gAfter
    gAfter[m] = 1
    for (let j = m; j >= 2; j--) gAfter[j - 1] = gAfter[j] * this.levels[j - 1].gamma[this.ctxIdx[j]]
    const stamp = this.stamp
    if (++this.stampNow === 0xffffffff) {
      stamp.fill(0)
      this.stampNow = 1
    }
    const now = this.stampNow
    const s = this.scratch
    const p1 = this.p1
    const fin = this.fin as Float64Array
    for (let j = 2; j <= m; j++) {
      const lv = this.levels[j - 1]
      const ci = this.ctxIdx[j]
      const g = lv.gamma[ci]
      const after = gAfter[j]
      const words = lv.childWords
      const alpha = lv.alpha
      // As in `logits`: children at order j ⊂ children at j − 1, so s[w] holds P_{j−1}(w) for j > 2.
      for (let c = lv.childStart[ci], end = lv.childStart[ci + 1]; c < end; c++) {
        const w = words[c]
        s[w] = alpha[c] + g * (j === 2 ? p1[w] : s[w])
        fin[w] = s[w] * after
        stamp[w] = now
      }
    }
    return { m, G: gAfter[1], now }
  }

  /**
   * The k most probable next tokens, exactly, without a pass over the vocabulary. An id never seen after
   * any matched context of order ≥ 2 has probability Γ · P_1(w), Γ the product of the matched back-off
   * weights — the same factor for all of them — so the best of those are the first ids in P_1 order that
   * were not seen; the answer is the top k of those k ids plus the ids seen at order 2 (children at
   * order k ⊂ children at order k − 1, so order 2 holds them all) with their interpolated probabilities.
   * Cost O(children at order 2 + k log k) per call; sorted by probability descending, ties by id.
   */
  topCandidates(context: Uint32Array, k: number): Candidates {
    checkInt('k', k, 1, this.vocabSize)
    const V = this.vocabSize
    if (this.byP1 === undefined) {
      const p1 = this.p1
      this.byP1 = Uint32Array.from(Array.from({ length: V }, (_, w) => w).sort((a, b) => p1[b] - p1[a] || a - b))
    }
    const { m, G, now } = this.matchSeen(context)
    const stamp = this.stamp as Uint32Array
    const p1 = this.p1
    // Top k by (probability desc, id asc) in one pass: a sorted insertion list of length k.
    const topIds = new Uint32Array(k)
    const topP = new Float64Array(k)
    let n = 0
    const offer = (w: number, p: number): void => {
      if (n === k && !(p > topP[k - 1] || (p === topP[k - 1] && w < topIds[k - 1]))) return
      let i = n < k ? n++ : k - 1
      while (i > 0 && (topP[i - 1] < p || (topP[i - 1] === p && topIds[i - 1] > w))) {
        topP[i] = topP[i - 1]
        topIds[i] = topIds[i - 1]
        i--
      }
      topP[i] = p
      topIds[i] = w
    }
    const fin = this.fin as Float64Array
    if (m >= 2) {
      const lv = this.levels[1]
      const words = lv.childWords
      for (let c = lv.childStart[this.ctxIdx[2]], end = lv.childStart[this.ctxIdx[2] + 1]; c < end; c++) offer(words[c], fin[words[c]])
    }
    const byP1 = this.byP1
    for (let i = 0, taken = 0; i < V && taken < k; i++) {
      const w = byP1[i]
      if (stamp[w] === now) continue
      offer(w, G * p1[w])
      taken++
    }
    const logits = new Float32Array(n)
    for (let i = 0; i < n; i++) logits[i] = Math.log(topP[i])
    return { ids: topIds.slice(0, n), logits }
  }

  /**
   * Draws the next token exactly from P(· | context) with one uniform: interpolation is a mixture, so at
   * each order the token comes from the discounted counts with probability 1 − γ, else from the next order
   * down; at order 0 it follows P_0. Costs O(children), not O(vocabulary).
   */
  sample(context: Uint32Array, rng: Pick<Rng, 'nextFloat'>): number {
    const m = this.locate(context)
    let u = rng.nextFloat()
    for (let k = m; k >= 2; k--) {
      const lv = this.levels[k - 1]
      const ci = this.ctxIdx[k]
      const g = lv.gamma[ci]
      const a = 1 - g
      const start = lv.childStart[ci]
      const end = lv.childStart[ci + 1]
      if (u < a) {
        let acc = 0
        for (let j = start; j < end; j++) {
          acc += lv.alpha[j]
          if (u < acc) return lv.childWords[j]
        }
        return lv.childWords[end - 1]
      }
      u = Math.min((u - a) / g, 1 - Number.EPSILON)
    }
    const l1 = this.levels[0]
    const g1 = l1.gamma[0]
    const a1 = 1 - g1
    if (u < a1 && l1.childWords.length > 0) {
      const cdf = this.alpha1Cdf
      let lo = 0
      let hi = cdf.length - 1
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (cdf[mid] > u) hi = mid
        else lo = mid + 1
      }
      return l1.childWords[lo]
    }
    // Order 0: a seen id (uniformly) with probability 1 − β, else an unseen id (uniformly).
    const seen = l1.childWords
    const v = Math.min((u - a1) / g1, 1 - Number.EPSILON)
    const S = seen.length
    const beta = this.unseenShare
    if (v < 1 - beta) return seen[Math.min(S - 1, Math.floor((v / (1 - beta)) * S))]
    const U = this.vocabSize - S
    const k = Math.min(U - 1, Math.floor(((v - (1 - beta)) / beta) * U))
    // the k-th unseen id: the first j with seen[j] − j > k has exactly j seen ids below the answer
    let lo = 0
    let hi = S
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (seen[mid] - mid > k) hi = mid
      else lo = mid + 1
    }
    return k + lo
  }

  /**
   * Draws the next token exactly from P(· | context)^(1/T) / Z in O(children + log V) per call. An id never
   * seen after a matched context of order ≥ 2 has P = Γ · P_1(w) (as in `topCandidates`), so together those
   * ids weigh Γ^(1/T) · (Σ_all P_1^(1/T) − Σ_seen P_1^(1/T)): the first sum is a per-T prefix table, and one
   * of them is drawn from P_1^(1/T) by that table, rejecting seen ids (a few tries; a scan after 64).
   */
  sampleTempered(context: Uint32Array, temperature: number, rng: Pick<Rng, 'nextFloat'>): number {
    if (!(temperature > 0 && Number.isFinite(temperature))) throw new LabError('E_BAD_PARAM', `temperature must be > 0, got ${temperature}`)
    if (temperature === 1) return this.sample(context, rng)
    const V = this.vocabSize
    const inv = 1 / temperature
    const p1 = this.p1
    if (this.tempT !== temperature || this.tempCdf === undefined) {
      const cdf = (this.tempCdf ??= new Float64Array(V))
      let acc = 0
      for (let w = 0; w < V; w++) cdf[w] = acc += p1[w] ** inv
      this.tempT = temperature
    }
    const cdf = this.tempCdf
    const { m, G, now } = this.matchSeen(context)
    const stamp = this.stamp as Uint32Array
    const fin = this.fin as Float64Array
    // Children at order 2 hold every id seen at any matched order ≥ 2.
    let seenWeight = 0
    let seenP1 = 0
    const l2 = m >= 2 ? this.levels[1] : undefined
    const c0 = l2 ? l2.childStart[this.ctxIdx[2]] : 0
    const c1 = l2 ? l2.childStart[this.ctxIdx[2] + 1] : 0
    for (let c = c0; c < c1; c++) {
      const w = (l2 as Level).childWords[c]
      seenWeight += fin[w] ** inv
      seenP1 += p1[w] ** inv
    }
    const rest = G ** inv * Math.max(0, cdf[V - 1] - seenP1)
    let u = rng.nextFloat() * (seenWeight + rest)
    if (u < seenWeight) {
      for (let c = c0; c < c1; c++) {
        const w = (l2 as Level).childWords[c]
        u -= fin[w] ** inv
        if (u < 0) return w
      }
      return (l2 as Level).childWords[c1 - 1]
    }
    const total = cdf[V - 1]
    for (let tries = 0; tries < 64; tries++) {
      const x = rng.nextFloat() * total
      let lo = 0
      let hi = V - 1
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (cdf[mid] > x) hi = mid
        else lo = mid + 1
      }
      if (stamp[lo] !== now) return lo
    }
    // The unseen ids hold a sliver of P_1^(1/T): draw among them by a scan instead.
    let x = rng.nextFloat() * Math.max(0, total - seenP1)
    let last = 0
    for (let w = 0; w < V; w++) {
      if (stamp[w] === now) continue
      last = w
      x -= p1[w] ** inv
      if (x < 0) return w
    }
    return last
  }

  /** exp(mean negative log-likelihood per token) over one sequence or several (each starts fresh). */
  perplexity(ids: Uint32Array | readonly Uint32Array[]): number {
    const seqs = ids instanceof Uint32Array ? [ids] : ids
    let nll = 0
    let count = 0
    const h = this.order - 1
    for (const seq of seqs) {
      for (let i = 0; i < seq.length; i++) {
        const tok = seq[i]
        this.checkToken(tok)
        nll -= Math.log(this.prob(this.locate(seq.subarray(Math.max(0, i - h), i)), tok))
        count++
      }
    }
    if (count === 0) throw new LabError('E_BAD_INPUT', 'perplexity: no tokens to score')
    return Math.exp(nll / count)
  }

  stats(): NGramStats {
    let bytes = this.p1.byteLength + this.logP1.byteLength + this.alpha1Cdf.byteLength + this.scratch.byteLength
    for (const lv of this.levels) {
      bytes += lv.contextKeys.byteLength + lv.childStart.byteLength + lv.childWords.byteLength
      bytes += lv.childCounts.byteLength + lv.alpha.byteLength + lv.gamma.byteLength
    }
    return {
      order: this.order,
      vocabSize: this.vocabSize,
      ngrams: this.levels.map((lv) => lv.childWords.length),
      contexts: this.levels.map((lv) => lv.childStart.length - 1),
      discounts: this.levels.map((lv) => Array.from(lv.discounts)),
      bytes,
      tokens: this.tokens,
      unseenShare: this.unseenShare,
    }
  }

  /** Fills ctxIdx[2..m] with the matched contexts and returns m, the longest matched order. */
  private locate(context: Uint32Array): number {
    const len = context.length
    let m = 1
    for (let k = 2; k <= this.order; k++) {
      const w = k - 1
      if (len < w) break
      const e = (this.levels[k - 1].index as TupleTable).find(context, len - w)
      if (e < 0) break
      this.ctxIdx[k] = e
      m = k
    }
    return m
  }

  /** P(token | matched contexts) after `locate`. */
  private prob(m: number, token: number): number {
    let p = this.p1[token]
    for (let k = 2; k <= m; k++) {
      const lv = this.levels[k - 1]
      const ci = this.ctxIdx[k]
      const j = findChild(lv, ci, token)
      p = (j >= 0 ? lv.alpha[j] : 0) + lv.gamma[ci] * p
    }
    return p
  }

  private checkToken(token: number): void {
    if (!(Number.isInteger(token) && token >= 0 && token < this.vocabSize)) {
      throw new LabError('E_BAD_INPUT', `token id ${token} is outside the vocabulary [0, ${this.vocabSize})`)
    }
  }
}

/** Index of `word` among the children of context `ci`, or −1 (binary search; children are sorted). */
function findChild(lv: NGramLevel, ci: number, word: number): number {
  const words = lv.childWords
  let lo = lv.childStart[ci]
  let hi = lv.childStart[ci + 1] - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const x = words[mid]
    if (x === word) return mid
    if (x < word) lo = mid + 1
    else hi = mid - 1
  }
  return -1
}

/** Validates a level and derives its context index, per-child alpha and per-context gamma. */
function deriveLevel(lv: NGramLevel, k: number, vocabSize: number): Level {
  const { contextKeys, childStart, childWords, childCounts, discounts } = lv
  const nCtx = childStart.length - 1
  const bad = (why: string) => new LabError('E_MODEL_FORMAT', `order ${k}: ${why}; retrain or re-save the model`)
  if (nCtx < 0 || (k === 1 && nCtx !== 1)) throw bad('wrong number of contexts')
  if (contextKeys.length !== nCtx * (k - 1)) throw bad('context keys do not match the context count')
  if (childWords.length !== childCounts.length || childStart[nCtx] !== childWords.length || childStart[0] !== 0) {
    throw bad('child arrays are inconsistent')
  }
  if (discounts.length !== 3) throw bad('expected 3 discounts')
  const alpha = new Float64Array(childWords.length)
  const gamma = new Float64Array(nCtx)
  const [d1, d2, d3] = discounts
  for (let ci = 0; ci < nCtx; ci++) {
    const start = childStart[ci]
    const end = childStart[ci + 1]
    if (end < start) throw bad('child offsets decrease')
    let total = 0
    let removed = 0
    for (let j = start; j < end; j++) {
      const c = childCounts[j]
      if (c === 0) throw bad('zero count')
      if (childWords[j] >= vocabSize || (j > start && childWords[j] <= childWords[j - 1])) throw bad('child ids unsorted or outside the vocabulary')
      total += c
      removed += c === 1 ? d1 : c === 2 ? d2 : d3
    }
    if (total === 0) {
      gamma[ci] = 1
      continue
    }
    for (let j = start; j < end; j++) {
      const c = childCounts[j]
      alpha[j] = Math.max(c - (c === 1 ? d1 : c === 2 ? d2 : d3), 0) / total
    }
    gamma[ci] = removed / total
  }
  const index = k === 1 ? null : TupleTable.fromKeys(k - 1, contextKeys, nCtx)
  return { ...lv, index, alpha, gamma }
}

/** Counts raw n-grams (highest order) and continuation counts (lower orders) into CSR tables. */
export function countNGrams(sequences: readonly Uint32Array[], options: NGramTrainOptions): NGramTables {
  const order = options.order ?? 4
  checkInt('order', order, 1, 6)
  const V = options.vocabSize
  checkInt('vocabSize', V, 1, 0x7fffffff)
  let total = 0
  for (const seq of sequences) {
    if (!(seq instanceof Uint32Array)) throw new LabError('E_BAD_INPUT', 'training sequences must be Uint32Array token ids')
    for (let i = 0; i < seq.length; i++) {
      if (seq[i] >= V) throw new LabError('E_BAD_INPUT', `token id ${seq[i]} is outside the vocabulary [0, ${V}); pass the tokenizer's vocabSize`)
    }
    total += seq.length
  }
  if (total === 0) throw new LabError('E_BAD_INPUT', 'no training tokens: pass at least one non-empty sequence')
  // Distinct k-grams with raw counts, for every order (lower orders' continuation counts need order k + 1).
  const raw: { table: TupleTable; counts: Uint32Array }[] = []
  for (let k = 1; k <= order; k++) {
    const table = new TupleTable(k, Math.min(total, 1 << 16))
    let counts: Uint32Array = new Uint32Array(1024)
    for (const seq of sequences) {
      for (let i = 0; i + k <= seq.length; i++) {
        const e = table.add(seq, i)
        if (e >= counts.length) counts = growU32(counts, e + 1)
        counts[e]++
      }
    }
    raw.push({ table, counts })
  }
  const levels: NGramLevel[] = new Array<NGramLevel>(order)
  const top = raw[order - 1]
  levels[order - 1] = buildLevel(order, top.table.keys, top.counts, top.table.size)
  for (let k = order - 1; k >= 1; k--) {
    // N1+(· w_1..w_k): each distinct (k+1)-gram adds one to its k-suffix.
    const above = raw[k].table
    const table = new TupleTable(k, above.size)
    let counts: Uint32Array = new Uint32Array(Math.max(16, above.size))
    for (let e = 0; e < above.size; e++) {
      const i = table.add(above.keys, e * (k + 1) + 1)
      if (i >= counts.length) counts = growU32(counts, i + 1)
      counts[i]++
    }
    levels[k - 1] = buildLevel(k, table.keys, counts, table.size)
  }
  let singletons = 0
  for (let e = 0; e < raw[0].table.size; e++) if (raw[0].counts[e] === 1) singletons++
  return { order, vocabSize: V, levels, tokens: total, singletons }
}

function growU32(a: Uint32Array, min: number): Uint32Array {
  const b = new Uint32Array(Math.max(min, a.length * 2))
  b.set(a)
  return b
}

/** Groups `size` k-grams (packed `keys`, with `counts`) by their (k − 1)-token context into CSR arrays. */
function buildLevel(k: number, keys: Uint32Array, counts: Uint32Array, size: number): NGramLevel {
  const ctx = new TupleTable(k - 1, size)
  const ctxOf = new Int32Array(size)
  for (let e = 0; e < size; e++) ctxOf[e] = k === 1 ? 0 : ctx.add(keys, e * k)
  const nCtx = k === 1 ? 1 : ctx.size
  const childStart = new Uint32Array(nCtx + 1)
  for (let e = 0; e < size; e++) childStart[ctxOf[e] + 1]++
  for (let i = 0; i < nCtx; i++) childStart[i + 1] += childStart[i]
  const cursor = childStart.slice(0, nCtx)
  // Pack (word, count) as word · 2^32 + count so a numeric sort orders children by word.
  const packed = new Float64Array(size)
  for (let e = 0; e < size; e++) packed[cursor[ctxOf[e]]++] = keys[e * k + k - 1] * 4294967296 + counts[e]
  for (let i = 0; i < nCtx; i++) packed.subarray(childStart[i], childStart[i + 1]).sort()
  const childWords = new Uint32Array(size)
  const childCounts = new Uint32Array(size)
  for (let j = 0; j < size; j++) {
    childWords[j] = Math.floor(packed[j] / 4294967296)
    childCounts[j] = packed[j] % 4294967296
  }
  return {
    contextKeys: k === 1 ? new Uint32Array(0) : ctx.keys.slice(0, nCtx * (k - 1)),
    childStart,
    childWords,
    childCounts,
    discounts: estimateDiscounts(childCounts),
  }
}

/** Modified Kneser–Ney discounts [D1, D2, D3+] from counts-of-counts (Chen & Goodman 1998, eq. 26). */
export function estimateDiscounts(counts: Uint32Array): Float64Array {
  const n = [0, 0, 0, 0, 0]
  for (let j = 0; j < counts.length; j++) if (counts[j] <= 4) n[counts[j]]++
  const Y = n[1] + 2 * n[2] > 0 ? n[1] / (n[1] + 2 * n[2]) : 0.5
  const raw = [1 - (2 * Y * n[2]) / n[1], 2 - (3 * Y * n[3]) / n[2], 3 - (4 * Y * n[4]) / n[3]]
  return Float64Array.from(raw, (d, i) => Math.min(i + 1, Number.isFinite(d) && d > 0 ? d : Y > 0 ? Y : 0.5))
}
