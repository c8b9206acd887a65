/**
 * The serving loop, as a provider writes it around its own model: at each step the model proposes
 * candidate tokens with log-probabilities, and the watermark sampler from @tokenmark/core picks one.
 * Swapping the n-gram model for a neural one changes only where the candidates come from — the sampler
 * call stays.
 */
import type { NextTokenSampler, Tokenizer } from '@tokenmark/core'
import type { NGramModel } from '@tokenmark/lab'

export interface Completion {
  ids: Uint32Array
  text: string
  /** 'stop': the model ended a paragraph (a blank line); 'length': maxTokens reached. */
  finish: 'stop' | 'length'
}

/**
 * Generates up to `maxTokens` tokens after `promptIds`, one `sampler` call per token, on the model's top-k
 * candidates: exact for a sampler whose own top-k is at most `topK`, and O(candidates) per step.
 */
export function complete(model: NGramModel, tokenizer: Tokenizer, promptIds: Uint32Array, sampler: NextTokenSampler, maxTokens: number, topK: number): Completion {
  const buf = new Uint32Array(promptIds.length + maxTokens)
  buf.set(promptIds)
  let len = promptIds.length
  let tail = ''
  let finish: Completion['finish'] = 'length'
  while (len < buf.length) {
    const context = buf.subarray(0, len)
    // The model's k most probable next tokens with exact log-probabilities (a neural model: its top-k logits).
    const c = model.topCandidates(context, topK)
    const next = sampler(c.logits, context, c.ids) // ← the watermark is applied here, and only here
    buf[len++] = next
    tail = (tail + tokenizer.decode([next])).slice(-8)
    if (/\n\s*\n\s*$/.test(tail) && len > promptIds.length + 1) {
      finish = 'stop'
      break
    }
  }
  const ids = buf.slice(promptIds.length, len)
  return { ids, text: tokenizer.decode(ids).trimEnd(), finish }
}
