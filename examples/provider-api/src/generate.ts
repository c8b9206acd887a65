/**
 * The serving loop, as a provider writes it around its own model: at each step the model proposes
 * candidate tokens with log-probabilities, and the watermark sampler from @tokenmark/core picks one.
 * Swapping the n-gram model for a neural one changes only `candidates` — the sampler call stays.
 */
import type { NextTokenSampler, Tokenizer } from '@tokenmark/core'
import type { NGramModel, SparseDistribution } from '@tokenmark/lab'

export interface Candidates {
  ids: Uint32Array
  /** Natural-log probabilities, aligned with `ids`. */
  logits: Float32Array
}

const unigramCache = new WeakMap<NGramModel, SparseDistribution>()

/**
 * The next-token candidates of the n-gram model with their exact probabilities: the tokens seen after the
 * longest matching context, plus those seen after the context one token shorter (the back-off mass, which
 * interpolated Kneser–Ney spreads as γ·P_lower). Tokens seen only lower still get their share, so a
 * context with one continuation in the book does not force it. A neural model would pass its top-k here.
 */
export function candidates(model: NGramModel, context: Uint32Array): Candidates {
  const top = model.nextTokenDistribution(context)
  let lower: SparseDistribution | undefined
  if (top.order >= 2) {
    const shorter = context.subarray(context.length - (top.order - 2))
    if (shorter.length === 0) {
      lower = unigramCache.get(model)
      if (lower === undefined) unigramCache.set(model, (lower = model.nextTokenDistribution(shorter)))
    } else {
      lower = model.nextTokenDistribution(shorter)
    }
  }
  if (lower === undefined || lower.order !== top.order - 1) return { ids: top.ids, logits: top.probs.map(Math.log) }
  // P(w | h) = γ(h)·P_lower(w | h') for every w not seen after h; γ follows from the back-off mass.
  const inTop = new Set(top.ids)
  let lowerOnTop = 0
  for (let i = 0; i < lower.ids.length; i++) if (inTop.has(lower.ids[i])) lowerOnTop += lower.probs[i]
  const gamma = top.backoff / Math.max(1e-12, 1 - lowerOnTop)
  const n = top.ids.length + lower.ids.length - inTop.size
  const ids = new Uint32Array(n)
  const logits = new Float32Array(n)
  ids.set(top.ids)
  for (let i = 0; i < top.ids.length; i++) logits[i] = Math.log(top.probs[i])
  let j = top.ids.length
  for (let i = 0; i < lower.ids.length; i++) {
    if (inTop.has(lower.ids[i])) continue
    ids[j] = lower.ids[i]
    logits[j++] = Math.log(gamma * lower.probs[i])
  }
  return { ids, logits }
}

export interface Completion {
  ids: Uint32Array
  text: string
  /** 'stop': the model ended a paragraph (a blank line); 'length': maxTokens reached. */
  finish: 'stop' | 'length'
}

/** Generates up to `maxTokens` tokens after `promptIds`, one `sampler` call per token. */
export function complete(model: NGramModel, tokenizer: Tokenizer, promptIds: Uint32Array, sampler: NextTokenSampler, maxTokens: number): Completion {
  const buf = new Uint32Array(promptIds.length + maxTokens)
  buf.set(promptIds)
  let len = promptIds.length
  let tail = ''
  let finish: Completion['finish'] = 'length'
  while (len < buf.length) {
    const context = buf.subarray(0, len)
    const c = candidates(model, context)
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
