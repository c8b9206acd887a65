/**
 * The generation loop: prompt → tokens, one `NextTokenSampler` call per step, so a watermark sampler from
 * core plugs in unchanged. With `topK` > 0 and a model that has `topCandidates`, the sampler gets the
 * model's exact top-k as a candidate subset, `(logits, context, ids)`; otherwise the full-vocabulary logits
 * (a softmax over 200k ids per step dominates then: ~500 tokens/s instead of tens of thousands).
 * Without a sampler it samples the model itself with a seeded RNG: without truncation through
 * `model.sample` at temperature 1 and `model.sampleTempered` at any other (exact, O(candidates) per step),
 * at temperature 0 greedily, otherwise through core's `plainSampler`. Same inputs and seed → same tokens.
 */
import { plainSampler } from '@tokenmark/core'
import { LabError, checkInt } from './errors.js'
import type { LanguageModel } from './ngram.js'
import { createRng } from './rng.js'
import { type NextTokenSampler, type SamplingOptions, checkSampling } from './sampler.js'

/** Encodes and decodes text; core's `Tokenizer` satisfies it. */
export interface TextCodec {
  readonly vocabSize: number
  encode(text: string): Uint32Array
  decode(ids: ArrayLike<number>): string
}

export type StopAt = 'none' | 'sentence' | 'paragraph'
export type StopReason = 'max-tokens' | 'sentence' | 'paragraph'

export interface GenerateOptions extends SamplingOptions {
  /** Upper bound on generated tokens (the prompt not counted). */
  maxTokens: number
  /** u32 seed of the plain sampler (default 0). Ignored when `sampler` is given: it brings its own randomness. */
  seed?: number
  /**
   * E.g. a watermark sampler from core; temperature and topP are then the sampler's business. `topK` still
   * applies: the sampler is handed only the model's k most probable tokens (exact), which changes nothing
   * for a sampler whose own top-k is at most k, and makes each step cost O(candidates), not O(vocabulary).
   */
  sampler?: NextTokenSampler
  /**
   * Stop after the token that ends a sentence (`.`, `!` or `?`, closing quotes or brackets allowed after
   * it, or a line break) or a paragraph (a blank line). Default 'none'. Abbreviations such as "Mr." end a
   * sentence too: this is a cheap textual rule, not a sentence splitter.
   */
  stopAt?: StopAt
  /** Never stop (other than at maxTokens) before this many tokens (default 1). */
  minTokens?: number
}

export interface IdGeneration {
  /** Generated ids only. */
  ids: Uint32Array
  stop: StopReason
}

export interface Generation extends IdGeneration {
  /** Decoded generated text (prompt excluded). */
  text: string
  promptIds: Uint32Array
}

/** Generates from prompt ids. `tokenText` (one token's text) is needed only when `stopAt` is set. */
export function generateIds(
  model: LanguageModel,
  promptIds: Uint32Array,
  options: GenerateOptions,
  tokenText?: (id: number) => string,
): IdGeneration {
  const { maxTokens, sampler, seed = 0, stopAt = 'none', minTokens = 1 } = options
  checkInt('maxTokens', maxTokens, 0, 1 << 26)
  checkInt('minTokens', minTokens, 0, 1 << 26)
  if (stopAt !== 'none' && stopAt !== 'sentence' && stopAt !== 'paragraph') {
    throw new LabError('E_BAD_PARAM', `stopAt must be none, sentence or paragraph, got ${String(stopAt)}`)
  }
  if (stopAt !== 'none' && tokenText === undefined) throw new LabError('E_BAD_PARAM', `stopAt '${stopAt}' needs a tokenizer (use generate)`)
  const sampling = checkSampling(options)
  const rng = createRng(seed)
  const greedy = sampler === undefined && sampling.temperature === 0
  const untruncated = sampler === undefined && sampling.topK === 0 && sampling.topP === 1
  const fast = untruncated && sampling.temperature === 1
  const tempered = untruncated && !fast && !greedy && model.sampleTempered !== undefined ? sampling.temperature : undefined
  const pick: NextTokenSampler | undefined = sampler ?? (greedy || fast || tempered !== undefined ? undefined : plainSampler(sampling, rng))
  const V = model.vocabSize
  // Candidate subsets: top-k, or top-1 for greedy (argmax, lowest id on ties, as over the full logits).
  const k = greedy ? 1 : sampling.topK
  const top = k > 0 && model.topCandidates !== undefined ? (ctx: Uint32Array) => (model.topCandidates as NonNullable<LanguageModel['topCandidates']>).call(model, ctx, k) : undefined
  const buf = new Uint32Array(promptIds.length + maxTokens)
  buf.set(promptIds)
  let len = promptIds.length
  const logits = fast || tempered !== undefined || top !== undefined ? undefined : new Float32Array(V)
  let tail = ''
  let stop: StopReason = 'max-tokens'
  const step1 = (context: Uint32Array): number => {
    if (top !== undefined) {
      const c = top(context)
      return pick === undefined ? c.ids[0] : pick(c.logits, context, c.ids)
    }
    if (tempered !== undefined) return (model.sampleTempered as NonNullable<LanguageModel['sampleTempered']>).call(model, context, tempered, rng)
    if (logits === undefined) return model.sample(context, rng)
    model.logits(context, logits)
    if (pick !== undefined) return pick(logits, context)
    let best = 0
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i
    return best
  }
  for (let step = 0; step < maxTokens; step++) {
    const context = buf.subarray(0, len)
    const next = step1(context)
    if (!(Number.isInteger(next) && next >= 0 && next < V)) {
      throw new LabError('E_BAD_INPUT', `sampler returned ${String(next)}, not a token id in [0, ${V})`)
    }
    buf[len++] = next
    if (stopAt !== 'none' && tokenText !== undefined) {
      tail = (tail + tokenText(next)).slice(-16)
      if (step + 1 >= minTokens) {
        if (/\n[^\S\n]*\n/.test(tail)) {
          stop = 'paragraph'
          break
        }
        if (stopAt === 'sentence' && /(?:[.!?]["'’”)\]]*|\n)[^\S\n]*$/.test(tail)) {
          stop = 'sentence'
          break
        }
      }
    }
  }
  return { ids: buf.slice(promptIds.length, len), stop }
}

/** Generates a continuation of `prompt`: `{ text, ids, promptIds, stop }`. */
export function generate(model: LanguageModel, tokenizer: TextCodec, prompt: string, options: GenerateOptions): Generation {
  if (tokenizer.vocabSize !== model.vocabSize) {
    throw new LabError('E_BAD_PARAM', `tokenizer vocabSize ${tokenizer.vocabSize} differs from the model's ${model.vocabSize}: use the tokenizer the model was trained with`)
  }
  const promptIds = tokenizer.encode(prompt)
  const cache = new Map<number, string>()
  const tokenText = (id: number): string => {
    let s = cache.get(id)
    if (s === undefined) cache.set(id, (s = tokenizer.decode([id])))
    return s
  }
  const { ids, stop } = generateIds(model, promptIds, options, tokenText)
  return { text: tokenizer.decode(ids), ids, promptIds, stop }
}
