/**
 * Seeding rules: which previous tokens key the PRF for a candidate (docs/spec.md#seeding).
 * - `lefthash` (Kirchenbauer et al. 2023): seed = SipHash(k, t[i-h..i-1]); h previous tokens.
 * - `selfhash` (Kirchenbauer et al. 2024, "anchored min-hash"): window W = t[i-h+1..i-1] ∪ {candidate},
 *   anchor a = t[i-1]; u(w) = SipHash(k, [a, w]); seed = min over W of u(w) (as unsigned 64-bit).
 *   Needs h-1 previous tokens and makes the seed depend on the candidate itself.
 * - `none` (Zhao et al. 2024, unigram): seed = SipHash(k, []) for every position: one fixed green list.
 * The embed side and the score side of every scheme call this one class, so they cannot disagree.
 */
import { mixLane, mixToken, sipHashWords, word, type SipKey } from './prf.js'

export type SeedingRule = 'lefthash' | 'selfhash' | 'none'

export interface Seeding {
  rule: SeedingRule
  /** Context width h (ignored by `none`). */
  context: number
}

/** Previous tokens a rule needs before a position can be scored or seeded. */
export function contextNeeded(seeding: Seeding): number {
  switch (seeding.rule) {
    case 'lefthash':
      return seeding.context
    case 'selfhash':
      return seeding.context - 1
    case 'none':
      return 0
  }
}

const CACHE_BITS = 16
/** Token ids above this use no h = 1 memo (8 MB at most per key); real vocabularies stay far below. */
const MEMO_MAX_ID = 1 << 20

/**
 * A keyed PRF bound to one seeding rule. Call `setContext` for a position, then `lane0` / `words`
 * per candidate. After `words(token)`, `w0` and `w1` hold lanes 0 and 1 of the candidate's PRF output:
 * the tuple identity used for de-duplication and the source of every scheme's observation.
 */
export class KeyedPrf {
  readonly need: number
  private readonly single: boolean
  w0 = 0
  w1 = 0
  private seedHi = 0
  private seedLo = 0
  private readonly out = new Uint32Array(2)
  private readonly pair = new Uint32Array(2)
  // selfhash: min of u(w) over the context part of the window, and the anchor token.
  private minHi = 0
  private minLo = 0
  private anchor = 0
  // lefthash seed caches, because real text reuses contexts heavily and SipHash dominates the cost of
  // scoring. h = 1: a memo indexed by the previous token id, [seedHi, seedLo] per id, grown on demand;
  // BPE gives frequent tokens small ids, so the hot entries of a text share few cache lines (a hashed
  // table scatters them, and the tokenizer's maps evict them between texts). (0, 0) means "not computed";
  // a seed that really is (0, 0) is just recomputed. h = 2..4: direct-mapped on a hash of the context
  // tokens, one record per slot, [valid, seedHi, seedLo, tag_0 .. tag_{h-1}] (exact tag compare).
  private memo: Uint32Array = new Uint32Array(0)
  private readonly cache: Uint32Array
  private readonly stride: number

  constructor(
    private readonly key: SipKey,
    readonly seeding: Seeding,
  ) {
    if (!Number.isInteger(seeding.context) || seeding.context < 0 || seeding.context > 64) {
      throw new RangeError('context width must be an integer in 0..64')
    }
    if (seeding.rule === 'selfhash' && seeding.context < 2) throw new RangeError('selfhash needs a context width of at least 2')
    if (seeding.rule === 'lefthash' && seeding.context < 1) throw new RangeError('lefthash needs a context width of at least 1')
    this.need = contextNeeded(seeding)
    this.single = seeding.rule === 'lefthash' && seeding.context === 1
    const size = 1 << CACHE_BITS
    const h = seeding.rule === 'lefthash' ? seeding.context : 0
    this.stride = 3 + h
    this.cache = new Uint32Array(h > 1 && h <= 4 ? size * this.stride : 0)
    if (seeding.rule === 'none') {
      sipHashWords(key, this.out, 0, 0, this.out)
      this.seedHi = this.out[0]
      this.seedLo = this.out[1]
    }
  }

  /** Prepares the seed for the token at `pos`, whose context is tokens[pos-need .. pos). */
  setContext(tokens: ArrayLike<number>, pos: number): void {
    const need = this.need
    if (pos < need) throw new RangeError('not enough context tokens for this seeding rule')
    if (this.single) {
      // lefthash with h = 1, the most common configuration: one memo read on a hit.
      const t = tokens[pos - 1] >>> 0 // as SipHash reads it (ToUint32), so 1.5 or -1 cannot index a wrong entry
      const at = 2 * t
      let m = this.memo
      if (at < m.length) {
        const hi = m[at]
        const lo = m[at + 1]
        if ((hi | lo) !== 0) {
          this.seedHi = hi
          this.seedLo = lo
          return
        }
      } else if (t < MEMO_MAX_ID) m = this.growMemo(t)
      sipHashWords(this.key, tokens, pos - 1, 1, this.out)
      this.seedHi = this.out[0]
      this.seedLo = this.out[1]
      if (at < m.length) {
        m[at] = this.seedHi
        m[at + 1] = this.seedLo
      }
      return
    }
    switch (this.seeding.rule) {
      case 'none':
        return
      case 'lefthash': {
        const start = pos - need
        const c = this.cache
        if (c.length === 0) {
          sipHashWords(this.key, tokens, start, need, this.out)
          this.seedHi = this.out[0]
          this.seedLo = this.out[1]
          return
        }
        let hh = 0
        for (let i = 0; i < need; i++) hh = Math.imul(hh ^ tokens[start + i], 0x9e3779b1) + i
        const slot = hh >>> (32 - CACHE_BITS)
        const at = slot * this.stride
        if (c[at] === 1) {
          let same = true
          for (let i = 0; i < need; i++) {
            if (c[at + 3 + i] !== tokens[start + i]) {
              same = false
              break
            }
          }
          if (same) {
            this.seedHi = c[at + 1]
            this.seedLo = c[at + 2]
            return
          }
        }
        sipHashWords(this.key, tokens, start, need, this.out)
        this.seedHi = this.out[0]
        this.seedLo = this.out[1]
        c[at] = 1
        c[at + 1] = this.seedHi
        c[at + 2] = this.seedLo
        for (let i = 0; i < need; i++) c[at + 3 + i] = tokens[start + i]
        return
      }
      case 'selfhash': {
        this.anchor = tokens[pos - 1]
        let mh = 0xffffffff
        let ml = 0xffffffff
        for (let i = pos - need; i < pos; i++) {
          this.anchorHash(tokens[i])
          const hi = this.out[0]
          const lo = this.out[1]
          if (hi < mh || (hi === mh && lo < ml)) {
            mh = hi
            ml = lo
          }
        }
        this.minHi = mh
        this.minLo = ml
        return
      }
    }
  }

  /** Grows the h = 1 memo to hold token id `t` (doubling, so a text costs few copies). */
  private growMemo(t: number): Uint32Array {
    let n = Math.max(this.memo.length, 1 << 17)
    while (n <= 2 * t + 1) n *= 2
    const m = new Uint32Array(n)
    m.set(this.memo)
    this.memo = m
    return m
  }

  private anchorHash(w: number): void {
    this.pair[0] = this.anchor
    this.pair[1] = w
    sipHashWords(this.key, this.pair, 0, 2, this.out)
  }

  private seedFor(token: number): void {
    if (this.seeding.rule !== 'selfhash') return
    this.anchorHash(token)
    const hi = this.out[0]
    const lo = this.out[1]
    if (hi < this.minHi || (hi === this.minHi && lo < this.minLo)) {
      this.seedHi = hi
      this.seedLo = lo
    } else {
      this.seedHi = this.minHi
      this.seedLo = this.minLo
    }
  }

  /** Lane 0 of the candidate's PRF output (enough for a green bit or SynthID g-values). */
  lane0(token: number): number {
    this.seedFor(token)
    return word(this.seedHi, this.seedLo, token, 0)
  }

  /** Lanes 0 and 1 into `w0`, `w1` (the first mixer round does not depend on the lane: done once). */
  words(token: number): void {
    this.seedFor(token)
    const a = mixToken(this.seedLo, token)
    this.w0 = mixLane(a, this.seedHi, this.seedLo, 0)
    this.w1 = mixLane(a, this.seedHi, this.seedLo, 1)
  }

  /**
   * `setContext(tokens, p)` then `words(tokens[p])` for every p in [from, to), lanes 0 and 1 written to
   * out[2(p - from)] and out[2(p - from) + 1]. The batch form scoring uses: for lefthash h = 1 it reads
   * the memo on locals, which is about twice as fast as the per-position calls.
   */
  fillWords(tokens: ArrayLike<number>, from: number, to: number, out: Uint32Array): void {
    if (!this.single) {
      for (let p = from, o = 0; p < to; p++, o += 2) {
        this.setContext(tokens, p)
        this.words(tokens[p])
        out[o] = this.w0
        out[o + 1] = this.w1
      }
      return
    }
    if (from < to && from < 1) throw new RangeError('not enough context tokens for this seeding rule')
    let m = this.memo
    for (let p = from, o = 0; p < to; p++, o += 2) {
      const at = 2 * (tokens[p - 1] >>> 0)
      let hi = at < m.length ? m[at] : 0
      let lo = at < m.length ? m[at + 1] : 0
      if ((hi | lo) === 0) {
        this.setContext(tokens, p) // computes and memoises
        hi = this.seedHi
        lo = this.seedLo
        m = this.memo
      }
      const a = mixToken(lo, tokens[p])
      out[o] = mixLane(a, hi, lo, 0)
      out[o + 1] = mixLane(a, hi, lo, 1)
    }
  }

  /**
   * Context id of the position last passed to `setContext`, as [hi, lo]: a keyed hash of the
   * previous tokens alone (never the candidate). Emission filters key on it (emission.ts): the
   * candidate's own PRF value must not decide whether it is scored, or the selection would favour green.
   * lefthash: the seed itself; selfhash: SipHash of the h−1 previous tokens; none: there is no context.
   */
  contextId(tokens: ArrayLike<number>, pos: number): [number, number] {
    if (this.seeding.rule === 'lefthash') return [this.seedHi, this.seedLo]
    if (this.seeding.rule === 'none') throw new RangeError('a context-free seeding rule has no context id')
    sipHashWords(this.key, tokens, pos - this.need, this.need, this.out)
    return [this.out[0], this.out[1]]
  }

  /** The current shared seed (lefthash / none) as [hi, lo]. */
  seed(): [number, number] {
    return [this.seedHi, this.seedLo]
  }
}
