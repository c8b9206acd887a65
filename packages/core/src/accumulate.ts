/**
 * Mergeable sufficient statistics of a detection test (docs/spec.md#accumulators).
 *
 * An accumulator counts tokens seen, scored and skipped by reason, and holds the scheme's sufficient
 * statistic (green count, g-sum or score sum) over the tuples it scored. With de-duplication on (the
 * default), every (context, token) tuple counts once across everything merged into the accumulator —
 * Fernandez et al. 2023 ("Three Bricks", §IV) show repeated tuples break the independence the exact
 * tests rely on. merge(a, b) equals scoring a's and b's inputs into one accumulator.
 *
 * Exclusions (tuples that occur in prompts) are part of the accumulator: an excluded tuple is never
 * scored, and excluding a tuple that was already scored removes it again. With de-duplication on, the
 * statistic is therefore the same whatever the order of texts, prompts and merges (the skip counts by
 * reason may differ with order; the tuples scored do not). With de-duplication off, exclusions apply
 * only to tokens scored after them.
 */
import { TokenmarkError } from './errors.js'
import type { PreparedKey } from './scoring.js'
import type { NullModel, SchemeId, StatisticName } from './schemes/types.js'
import { ExactSum } from './stats/exactsum.js'
import { TupleSet, type TupleFilter } from './tupleset.js'

export interface SkipCounts {
  /** Positions without enough preceding tokens for the seeding rule. */
  noContext: number
  /** Tuples already scored (de-duplication). */
  duplicate: number
  /** Tuples excluded by the caller (e.g. tuples that occur in the prompts). */
  excluded: number
  /** Tuples outside the emission filter. */
  filtered: number
}

/** addWords' per-batch flags (synchronous, never re-entered: observe is the scheme's pure function). */
let freshScratch = new Uint8Array(0)

const MAGIC = 0x43414d54 // "TMAC" little-endian
const FORMAT_VERSION = 2

export class Accumulator {
  readonly keyId: string
  readonly scheme: SchemeId
  readonly statistic: StatisticName
  readonly nullModel: NullModel
  readonly dedup: boolean
  tokensTotal = 0
  /** Tuples scored (after every skip rule). */
  tokensScored = 0
  /**
   * The statistic's running value. Integer statistics (binomial null models) are exact in a double; the
   * Gamma statistic is kept in `exact` so that any order of scoring and merging gives the same bits
   * (stats/exactsum.ts; sharded scans rely on it, docs/spec.md#shards).
   */
  private plainSum = 0
  private readonly exact: ExactSum | undefined
  readonly skipped: SkipCounts = { noContext: 0, duplicate: 0, excluded: 0, filtered: 0 }
  readonly seen: TupleSet | undefined
  /** Tuples that must never be scored (this accumulator's own; merged and persisted with it). */
  readonly excluded = new TupleSet(16)
  /**
   * Exclusions read from a parent (a fork, scorer.ts): checked like `excluded`, never copied, merged
   * or persisted — the parent holds them. Lets a per-text or per-batch view share a corpus's
   * exclusions without copying them per text.
   */
  readonly inherited: TupleFilter | undefined
  private readonly observe: (w0: number, w1: number) => number

  constructor(pk: PreparedKey, opts: { dedup?: boolean; inherit?: TupleFilter } = {}) {
    this.keyId = pk.key.keyId
    this.scheme = pk.key.scheme
    this.statistic = pk.scheme.statistic
    this.nullModel = pk.scheme.nullModel
    this.observe = pk.scheme.observe
    this.dedup = opts.dedup ?? true
    this.inherited = opts.inherit
    this.seen = this.dedup ? new TupleSet(16) : undefined // scoring and merges reserve what they need; a short text should not zero 16 KB
    this.exact = this.nullModel.kind === 'binomial' ? undefined : new ExactSum()
  }

  /** The sufficient statistic: green count, g-sum or Gumbel score sum over scored tuples. */
  get sum(): number {
    return this.exact !== undefined ? this.exact.value() : this.plainSum
  }

  /** Sets the statistic (restoring a stored value; tests that construct an accumulator by hand). */
  set sum(v: number) {
    if (this.exact !== undefined) {
      this.exact.reset()
      this.exact.add(v)
    } else this.plainSum = v
  }

  private addToSum(x: number): void {
    if (this.exact !== undefined) this.exact.add(x)
    else this.plainSum += x
  }

  /**
   * Scores one tuple given its PRF words; returns its observation, or NaN when de-duplication
   * dropped it. Skips for other reasons are counted by the caller (scoring.ts).
   */
  addTuple(w0: number, w1: number): number {
    if ((this.excluded.size > 0 && this.excluded.has(w0, w1)) || (this.inherited !== undefined && this.inherited.has(w0, w1))) {
      this.skipped.excluded++
      return NaN
    }
    w1 = TupleSet.canon(w0, w1)
    if (this.seen !== undefined && !this.seen.add(w0, w1)) {
      this.skipped.duplicate++
      return NaN
    }
    const x = this.observe(w0, w1)
    this.tokensScored++
    this.addToSum(x)
    return x
  }

  /**
   * `addTuple` for a batch whose tuples (words[2k], words[2k + 1]), k < count, the caller has already
   * checked against `excluded` (scoreTokens: one probe per token, not two); rewrites them in canonical
   * form (TupleSet.canon). Writes each observation (NaN for a duplicate) to `out` when given. Same
   * result, in the same order, as `addTuple` on each.
   */
  addWords(words: Uint32Array, count: number, out?: Float64Array): void {
    const observe = this.observe
    const exact = this.exact
    let sum = 0 // this batch's integer statistic, or nothing when `exact` keeps it
    let scored = 0
    if (this.seen === undefined) {
      for (let k = 0; k < count; k++) {
        const x = observe(words[2 * k], TupleSet.canon(words[2 * k], words[2 * k + 1]))
        if (exact !== undefined) exact.add(x)
        else sum += x
        if (out) out[k] = x
      }
      scored = count
    } else {
      const fresh = count <= freshScratch.length ? freshScratch : (freshScratch = new Uint8Array(count))
      this.seen.addBatch(words, count, fresh)
      for (let k = 0; k < count; k++) {
        if (fresh[k] === 1) {
          const x = observe(words[2 * k], words[2 * k + 1])
          if (exact !== undefined) exact.add(x)
          else sum += x
          scored++
          if (out) out[k] = x
        } else if (out) out[k] = NaN
      }
    }
    this.plainSum += sum
    this.tokensScored += scored
    this.skipped.duplicate += count - scored
  }

  /** Whether a tuple is excluded here, by this accumulator or the parent it inherits from. */
  isExcluded(w0: number, w1: number): boolean {
    return (this.excluded.size > 0 && this.excluded.has(w0, w1)) || (this.inherited !== undefined && this.inherited.has(w0, w1))
  }

  /** Excludes a tuple from the test from now on, and removes it if it was already scored. */
  excludeTuple(w0: number, w1: number): void {
    w1 = TupleSet.canon(w0, w1)
    if (!this.excluded.add(w0, w1)) return
    if (this.seen !== undefined && this.seen.delete(w0, w1)) {
      this.tokensScored--
      const x = this.observe(w0, w1)
      if (this.exact !== undefined) this.exact.subtract(x)
      else this.plainSum -= x
      this.skipped.excluded++
    }
  }

  /** Adds everything `other` holds; tuples both have scored count once, and either side's exclusions apply to both. */
  merge(other: Accumulator): this {
    if (other.keyId !== this.keyId) throw new TokenmarkError('E_ACCUMULATOR_MISMATCH', 'cannot merge accumulators of different keys')
    if (other.dedup !== this.dedup) throw new TokenmarkError('E_ACCUMULATOR_MISMATCH', 'cannot merge a de-duplicated accumulator with one that is not')
    this.tokensTotal += other.tokensTotal
    this.skipped.noContext += other.skipped.noContext
    this.skipped.excluded += other.skipped.excluded
    this.skipped.filtered += other.skipped.filtered
    this.skipped.duplicate += other.skipped.duplicate
    other.excluded.forEach((w0, w1) => this.excludeTuple(w0, w1))
    if (this.seen !== undefined && other.seen !== undefined) {
      other.seen.forEach((w0, w1) => {
        this.addTuple(w0, w1)
      })
    } else {
      this.tokensScored += other.tokensScored
      this.addToSum(other.sum)
    }
    return this
  }

  /**
   * Adds `other`'s counts and statistic when no tuple can be in both (shards of one scan,
   * docs/spec.md#shards): the statistic exactly, without copying either side's sets — a merge of S shards
   * must not hold the union of their de-duplication sets. The result is for reading (a test, a result);
   * its own sets stay as they were.
   */
  addDisjoint(other: Accumulator): this {
    if (other.keyId !== this.keyId) throw new TokenmarkError('E_ACCUMULATOR_MISMATCH', 'cannot merge accumulators of different keys')
    this.tokensTotal += other.tokensTotal
    this.tokensScored += other.tokensScored
    this.skipped.noContext += other.skipped.noContext
    this.skipped.excluded += other.skipped.excluded
    this.skipped.filtered += other.skipped.filtered
    this.skipped.duplicate += other.skipped.duplicate
    if (this.exact !== undefined && other.exact !== undefined) this.exact.addSum(other.exact)
    else this.plainSum += other.plainSum
    return this
  }

  /**
   * The statistic as six doubles that add exactly (a shard part's summary, docs/spec.md#shard-bytes): the
   * exact sum's words (stats/exactsum.ts) for the Gamma statistic, else the integer sum and five zeros.
   */
  statisticWords(): Float64Array {
    if (this.exact !== undefined) return this.exact.toWords()
    const out = new Float64Array(6)
    out[0] = this.plainSum
    return out
  }

  /**
   * Adds a disjoint part's summary (counts and statisticWords), as addDisjoint adds an accumulator: a merge
   * of shard parts needs neither side's tuples. Corpus-wide counts (tokensTotal, noContext) are the caller's.
   */
  addSummary(s: { tokensScored: number; skipped: SkipCounts; statistic: Float64Array }): this {
    this.tokensScored += s.tokensScored
    this.skipped.duplicate += s.skipped.duplicate
    this.skipped.excluded += s.skipped.excluded
    this.skipped.filtered += s.skipped.filtered
    if (this.exact !== undefined) this.exact.addWords(s.statistic)
    else {
      for (let j = 1; j < 6; j++) if (s.statistic[j] !== 0) throw new TokenmarkError('E_ACCUMULATOR_FORMAT', 'an integer statistic has no fractional words')
      this.plainSum += s.statistic[0]
    }
    return this
  }

  /**
   * Binary form (docs/spec.md#accumulator-bytes): magic "TMAC", version, flags, key id, counts as
   * f64, the statistic as f64, then the de-duplication set's tuples as u32 pairs, little-endian.
   */
  toBytes(): Uint8Array {
    const idBytes = new TextEncoder().encode(this.keyId)
    const words = this.seen?.toWords() ?? new Uint32Array(0)
    const excl = this.excluded.toWords()
    const header = 4 + 1 + 1 + 2 + idBytes.length
    const headerPadded = (header + 7) & ~7
    const len = headerPadded + 7 * 8 + 8 + words.byteLength + 8 + excl.byteLength
    const buf = new Uint8Array(len)
    const dv = new DataView(buf.buffer)
    dv.setUint32(0, MAGIC, true)
    dv.setUint8(4, FORMAT_VERSION)
    dv.setUint8(5, this.dedup ? 1 : 0)
    dv.setUint16(6, idBytes.length, true)
    buf.set(idBytes, 8)
    let o = headerPadded
    for (const v of [this.tokensTotal, this.tokensScored, this.sum, this.skipped.noContext, this.skipped.duplicate, this.skipped.excluded, this.skipped.filtered]) {
      dv.setFloat64(o, v, true)
      o += 8
    }
    dv.setUint32(o, words.length / 2, true)
    o += 8
    for (let i = 0; i < words.length; i++, o += 4) dv.setUint32(o, words[i], true)
    dv.setUint32(o, excl.length / 2, true)
    o += 8
    for (let i = 0; i < excl.length; i++, o += 4) dv.setUint32(o, excl[i], true)
    return buf
  }

  /** Restores an accumulator written by `toBytes` for the same key; rejects any other. */
  static fromBytes(bytes: Uint8Array, pk: PreparedKey): Accumulator {
    const bad = (why: string) => new TokenmarkError('E_ACCUMULATOR_FORMAT', `accumulator bytes are invalid: ${why}`)
    if (bytes.length < 8) throw bad('too short')
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    if (dv.getUint32(0, true) !== MAGIC) throw bad('wrong magic')
    if (dv.getUint8(4) !== FORMAT_VERSION) throw bad(`unsupported version ${dv.getUint8(4)}`)
    const dedup = dv.getUint8(5) === 1
    const idLen = dv.getUint16(6, true)
    const headerPadded = (8 + idLen + 7) & ~7
    if (bytes.length < headerPadded + 64) throw bad('truncated header')
    const keyId = new TextDecoder().decode(bytes.subarray(8, 8 + idLen))
    if (keyId !== pk.key.keyId) throw new TokenmarkError('E_ACCUMULATOR_MISMATCH', 'accumulator was made with a different key')
    const acc = new Accumulator(pk, { dedup })
    let o = headerPadded
    const f = () => {
      const v = dv.getFloat64(o, true)
      o += 8
      if (!Number.isFinite(v) || v < 0) throw bad('bad count')
      return v
    }
    acc.tokensTotal = f()
    acc.tokensScored = f()
    const sum = f()
    acc.skipped.noContext = f()
    acc.skipped.duplicate = f()
    acc.skipped.excluded = f()
    acc.skipped.filtered = f()
    if (bytes.length < o + 8) throw bad('truncated tuple table')
    const n = dv.getUint32(o, true)
    o += 8
    if (bytes.length < o + 8 * n + 8) throw bad('tuple table length does not match')
    if (dedup) {
      if (n !== acc.tokensScored) throw bad('tuple count does not match tokens scored')
      const seen = acc.seen as TupleSet
      seen.reserve(n)
      for (let i = 0; i < n; i++, o += 8) seen.add(dv.getUint32(o, true), dv.getUint32(o + 4, true))
    } else if (n !== 0) throw bad('tuples present without de-duplication')
    // With de-duplication the statistic is a function of the tuples: recompute it (exactly, for the Gamma
    // statistic) so that merging restored accumulators gives the same bits as scoring in one process.
    if (dedup && acc.exact !== undefined) acc.seen?.forEach((w0, w1) => acc.exact?.add(acc.observe(w0, w1)))
    else acc.addToSum(sum)
    const m = dv.getUint32(o, true)
    o += 8
    if (bytes.length !== o + 8 * m) throw bad('exclusion table length does not match')
    acc.excluded.reserve(m)
    for (let i = 0; i < m; i++, o += 8) acc.excluded.add(dv.getUint32(o, true), dv.getUint32(o + 4, true))
    return acc
  }
}
