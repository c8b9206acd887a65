/**
 * Token-level edit attacks on watermarked ids: deletion, insertion of plausible tokens, adjacent swaps and
 * truncation (the edit attacks of Kirchenbauer et al. 2023, §7, and Kuditipudi et al. 2023, §4). Each is a
 * pure function of its inputs and seed; the input array is never modified.
 */
import type { LanguageModel } from '../ngram.js'
import { createRng } from '../rng.js'
import { type AttackOptions, checkAttack, checkIds, choosePositions, contextAt } from './common.js'

export interface ModelAttackOptions extends AttackOptions {
  /** The model that proposes tokens (usually the unwatermarked reference model). */
  model: LanguageModel
  /** Tokens before `ids` (e.g. the prompt), used as context for the first positions. */
  prefix?: Uint32Array
}

/** Deletes round(strength · n) tokens chosen uniformly. */
export function deleteTokens(ids: Uint32Array, options: AttackOptions): Uint32Array {
  checkIds('deleteTokens', ids)
  checkAttack('deleteTokens', options)
  const drop = choosePositions(ids.length, options.strength, createRng(options.seed))
  const out = new Uint32Array(ids.length - drop.length)
  let o = 0
  let d = 0
  for (let i = 0; i < ids.length; i++) {
    if (d < drop.length && drop[d] === i) d++
    else out[o++] = ids[i]
  }
  return out
}

/**
 * Inserts k = round(strength · n) tokens at uniformly chosen places (the output has n + k tokens, so a
 * fraction k / (n + k) is foreign). Each inserted token is drawn from the model given the text before it,
 * so it is plausible there.
 */
export function insertTokens(ids: Uint32Array, options: ModelAttackOptions): Uint32Array {
  checkIds('insertTokens', ids)
  checkAttack('insertTokens', options)
  const { model, prefix = new Uint32Array(0) } = options
  const rng = createRng(options.seed)
  const n = ids.length
  const k = Math.round(options.strength * n)
  const inserted = choosePositions(n + k, k / Math.max(1, n + k), rng)
  const out = new Uint32Array(n + k)
  let src = 0
  let ins = 0
  for (let o = 0; o < n + k; o++) {
    if (ins < inserted.length && inserted[ins] === o) {
      out[o] = model.sample(contextAt(prefix, out, o, model.contextLength), rng)
      ins++
    } else {
      out[o] = ids[src++]
    }
  }
  return out
}

/**
 * Swaps round(strength · n / 2) disjoint pairs of neighbouring tokens, so about a fraction `strength` of
 * the tokens move (fewer change when a pair holds the same token twice).
 */
export function swapAdjacent(ids: Uint32Array, options: AttackOptions): Uint32Array {
  checkIds('swapAdjacent', ids)
  checkAttack('swapAdjacent', options)
  const n = ids.length
  const out = ids.slice()
  if (n < 2) return out
  const rng = createRng(options.seed)
  const want = Math.min(Math.floor(n / 2), Math.round((options.strength * n) / 2))
  const starts = Int32Array.from({ length: n - 1 }, (_, i) => i) // pair starts, visited in random order
  for (let i = starts.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1)
    const t = starts[i]
    starts[i] = starts[j]
    starts[j] = t
  }
  const used = new Uint8Array(n)
  let done = 0
  for (let s = 0; s < starts.length && done < want; s++) {
    const i = starts[s]
    if (used[i] || used[i + 1]) continue
    used[i] = used[i + 1] = 1
    out[i] = ids[i + 1]
    out[i + 1] = ids[i]
    done++
  }
  return out
}

/** Keeps the first n − round(strength · n) tokens. Deterministic; the seed is accepted for uniformity. */
export function truncateTokens(ids: Uint32Array, options: AttackOptions): Uint32Array {
  checkIds('truncateTokens', ids)
  checkAttack('truncateTokens', options)
  return ids.slice(0, ids.length - Math.round(options.strength * ids.length))
}
