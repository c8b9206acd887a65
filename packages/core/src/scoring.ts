/**
 * The score side of every scheme: token ids → per-token observations → an accumulator.
 * It calls the same KeyedPrf and scheme definition as the embed side (embed.ts).
 */
import { Accumulator } from './accumulate.js'
import type { WatermarkKey } from './keys.js'
import { sipKeyFromBytes } from './prf.js'
import { getScheme } from './schemes/registry.js'
import type { PreparedScheme } from './schemes/types.js'
import { KeyedPrf } from './seeding.js'
import type { TupleFilter } from './tupleset.js'

/** Membership test over context ids (KeyedPrf.contextId); implemented by EmissionFilter. */
export interface ContextFilter {
  hasContext(hi: number, lo: number): boolean
}

export interface PreparedKey {
  readonly key: WatermarkKey
  readonly scheme: PreparedScheme
  readonly prf: KeyedPrf
}

const prepared = new WeakMap<WatermarkKey, PreparedKey>()

/** Binds a key to its scheme and PRF once (HKDF runs here, never per token). */
export function prepareKey(key: WatermarkKey): PreparedKey {
  let pk = prepared.get(key)
  if (!pk) {
    const scheme = getScheme(key.scheme).prepare(key.config.params)
    const prf = new KeyedPrf(sipKeyFromBytes(key.deriveSubkey('prf', 16)), scheme.seeding)
    pk = { key, scheme, prf }
    prepared.set(key, pk)
  }
  return pk
}

/** Why a token was not scored (values of TokenMarks.reasons). */
export const SkipReason = { Scored: 0, NoContext: 1, Duplicate: 2, Excluded: 3, Filtered: 4 } as const

/** The names of SkipReason's values, by value: what marks and evidence bundles print. */
export const REASON_NAMES = ['scored', 'no-context', 'duplicate', 'excluded', 'filtered'] as const
export type ReasonName = (typeof REASON_NAMES)[number]

/** `ids` preceded by `context` (context tokens seed the PRF but are never scored), and where ids start. */
export function withContext(ids: ArrayLike<number>, context: ArrayLike<number> | undefined): [ArrayLike<number>, number] {
  if (!context || context.length === 0) return [ids, 0]
  const joined = new Uint32Array(context.length + ids.length)
  joined.set(context, 0)
  joined.set(ids, context.length)
  return [joined, context.length]
}

export interface TokenMarks {
  /** Observation per token (green bit, g-sum or Gumbel score); NaN when not scored. */
  values: Float64Array
  /** SkipReason per token. */
  reasons: Uint8Array
}

export interface ScoreOptions {
  /** Tokens that preceded `ids` when they were generated (e.g. the prompt): context only, never scored. */
  context?: ArrayLike<number>
  /** Tuples to leave out in this call only; exclusions that must hold for the whole test belong in `acc.excludeTuple`. */
  exclude?: TupleFilter
  /**
   * When set, only tokens whose context is in this filter are scored (a provider's emission filter).
   * It keys on the context, never on the scored token: see emission.ts for why.
   */
  filter?: ContextFilter
  /** Return per-token observations and skip reasons. */
  marks?: boolean
}

/** Pass 1's buffer, kept between calls up to SCRATCH_MAX tokens (4 MB). */
let wordsScratch = new Uint32Array(0)
const SCRATCH_MAX = 1 << 19

/** Scores `ids` into `acc` (which must belong to `pk`'s key). */
export function scoreTokens(pk: PreparedKey, ids: ArrayLike<number>, acc: Accumulator, opts: ScoreOptions = {}): TokenMarks | undefined {
  const [all, offset] = withContext(ids, opts.context)
  const n = ids.length
  const marks: TokenMarks | undefined = opts.marks ? { values: new Float64Array(n).fill(NaN), reasons: new Uint8Array(n) } : undefined
  const prf = pk.prf
  const need = prf.need
  const { exclude, filter } = opts
  // The accumulator's own exclusions and those it inherits from a parent (a fork): one probe either way.
  const excluded: TupleFilter | undefined =
    acc.inherited !== undefined ? { has: (w0, w1) => acc.isExcluded(w0, w1) } : acc.excluded.size > 0 ? acc.excluded : undefined
  acc.tokensTotal += n
  // Pass 1: the PRF words of every token that survives the skip rules, packed (at[k] = its index).
  // Pass 2 (acc.addWords): de-duplication and observations in one tight loop. Splitting the two keeps
  // each loop monomorphic and on locals, about twice as fast as one loop through method calls.
  const fast = !marks && exclude === undefined && excluded === undefined && filter === undefined
  // The fast path calls no caller code, so it cannot be re-entered and may use the shared scratch.
  const words = fast && 2 * n <= wordsScratch.length ? wordsScratch : new Uint32Array(2 * n)
  if (fast && words !== wordsScratch && n <= SCRATCH_MAX) wordsScratch = words
  const at = marks ? new Uint32Array(n) : undefined
  let k = 0
  let i = 0
  if (fast) {
    // Nothing to skip but the first positions: the PRF's batch form.
    i = Math.min(n, Math.max(0, need - offset))
    acc.skipped.noContext += i
    prf.fillWords(all, offset + i, offset + n, words)
    k = n - i
    i = n
  }
  for (; i < n; i++) {
    const pos = i + offset
    if (pos < need) {
      acc.skipped.noContext++
      if (marks) marks.reasons[i] = SkipReason.NoContext
      continue
    }
    prf.setContext(all, pos)
    prf.words(all[pos])
    const w0 = prf.w0
    const w1 = prf.w1
    if ((exclude !== undefined && exclude.has(w0, w1)) || (excluded !== undefined && excluded.has(w0, w1))) {
      acc.skipped.excluded++
      if (marks) marks.reasons[i] = SkipReason.Excluded
      continue
    }
    if (filter !== undefined) {
      const [hi, lo] = prf.contextId(all, pos)
      if (!filter.hasContext(hi, lo)) {
        acc.skipped.filtered++
        if (marks) marks.reasons[i] = SkipReason.Filtered
        continue
      }
    }
    words[2 * k] = w0
    words[2 * k + 1] = w1
    if (at) at[k] = i
    k++
  }
  const values = marks ? new Float64Array(k) : undefined
  acc.addWords(words, k, values)
  if (marks && at && values) {
    for (let j = 0; j < k; j++) {
      const x = values[j]
      marks.values[at[j]] = x
      marks.reasons[at[j]] = Number.isNaN(x) ? SkipReason.Duplicate : SkipReason.Scored
    }
  }
  return marks
}

/** Calls fn(w0, w1) for every scoreable tuple of `ids` (used to build exclusion sets and emission filters). */
export function forEachTuple(pk: PreparedKey, ids: ArrayLike<number>, fn: (w0: number, w1: number) => void, context?: ArrayLike<number>): void {
  const [all, offset] = withContext(ids, context)
  const prf = pk.prf
  for (let pos = Math.max(offset, prf.need); pos < all.length; pos++) {
    prf.setContext(all, pos)
    prf.words(all[pos])
    fn(prf.w0, prf.w1)
  }
}

/** A fresh accumulator for a key. */
export function createAccumulator(key: WatermarkKey, opts: { dedup?: boolean } = {}): Accumulator {
  return new Accumulator(prepareKey(key), opts)
}
