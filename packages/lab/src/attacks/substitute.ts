/**
 * Context-aware substitution: replace a token by the model's own most probable alternative at that place —
 * the strongest single-token edit a scrubber with a language model can make cheaply (the "substitution
 * with a masked or causal LM" attacks of Kirchenbauer et al. 2023, §7; Piet et al., MarkMyWords, 2023).
 */
import type { LanguageModel } from '../ngram.js'
import { createRng } from '../rng.js'
import { checkAttack, checkIds, choosePositions, contextAt } from './common.js'
import type { ModelAttackOptions } from './edit.js'

/**
 * Replaces round(strength · n) uniformly chosen tokens, left to right (later choices see earlier
 * replacements), each by the most probable token other than itself given the preceding context. The
 * candidates are those seen after the longest known context; if the original is the only one, the context
 * is shortened until there is another. Every chosen token changes.
 */
export function substituteTokens(ids: Uint32Array, options: ModelAttackOptions): Uint32Array {
  checkIds('substituteTokens', ids)
  checkAttack('substituteTokens', options)
  const { model, prefix = new Uint32Array(0) } = options
  const out = ids.slice()
  for (const i of choosePositions(ids.length, options.strength, createRng(options.seed))) {
    out[i] = nextBest(model, contextAt(prefix, out, i, model.contextLength), ids[i])
  }
  return out
}

/** The most probable token ≠ `avoid` after `context`, backing off to shorter contexts when needed. */
export function nextBest(model: LanguageModel, context: Uint32Array, avoid: number): number {
  for (let start = 0; start <= context.length; start++) {
    const { ids } = model.nextTokenDistribution(context.subarray(start))
    for (let j = 0; j < ids.length; j++) if (ids[j] !== avoid) return ids[j]
  }
  return (avoid + 1) % model.vocabSize
}
