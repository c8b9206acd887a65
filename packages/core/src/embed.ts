/**
 * The embed side: samplers that watermark, for a serving loop or the lab's generator. Each scheme's
 * embed rule lives in its scheme file and uses the same KeyedPrf as scoring (scoring.ts).
 */
import { TokenmarkError } from './errors.js'
import type { WatermarkKey } from './keys.js'
import type { Rng } from './rng.js'
import { resolveSampling, type NextTokenSampler, type SamplingOptions } from './sampling.js'
import { prepareKey } from './scoring.js'
import { getTokenizer, tokenizerNames } from './tokenizers/registry.js'

/**
 * Output layers are often padded past the tokenizer's vocabulary to a multiple of 64–256 rows (GPT-2:
 * 50,257 → 50,304; Qwen2: 151,646 → 151,936); a longer or shorter array is another model's vocabulary.
 */
const MAX_LOGITS_PADDING = 1024

/**
 * Throws unless `length` logits can be `key`'s tokenizer's vocabulary (plus padding). A provider that feeds
 * logits of another model's vocabulary would watermark ids that mean different tokens, and detection with
 * the key's tokenizer would find nothing: better a clear error at the first token. Keys naming a tokenizer
 * this package does not hold (a Hugging Face tokenizer.json) are not checked here.
 */
function checkLogitsLength(key: WatermarkKey, vocabSize: number, length: number): void {
  if (length >= vocabSize && length - vocabSize < MAX_LOGITS_PADDING) return
  throw new TokenmarkError(
    'E_BAD_PARAM',
    `logits have ${length} entries but key ${key.keyId} uses tokenizer ${key.config.tokenizer} with a vocabulary of ${vocabSize} tokens; ` +
      'the logits must come from a model with that tokenizer',
  )
}

/** The vocabulary size of `key`'s tokenizer when it is a built-in one. */
function keyVocabSize(key: WatermarkKey): number | undefined {
  return tokenizerNames().includes(key.config.tokenizer) ? getTokenizer(key.config.tokenizer).vocabSize : undefined
}

/** A sampler that draws the next token with `key`'s watermark, using `rng` for non-watermark randomness. */
export function watermarkSampler(key: WatermarkKey, sampling: SamplingOptions, rng: Rng): NextTokenSampler {
  const pk = prepareKey(key)
  const sample = pk.scheme.embedder(pk.prf, resolveSampling(sampling), rng)
  const vocabSize = keyVocabSize(key)
  if (vocabSize === undefined) return sample
  // With `ids` the logits are a candidate subset (lab's top-k on candidates), so only full arrays are checked.
  return (logits, context, ids) => {
    if (ids === undefined) checkLogitsLength(key, vocabSize, logits.length)
    return sample(logits, context, ids)
  }
}

/**
 * Logits-processor integration for green-list schemes (kgw, unigram): returns `logits` plus δ on
 * every green token of this position, so an existing sampler can draw from it. Writes into `out`
 * (default: a new array; pass `logits` itself to work in place).
 */
export function biasLogits(key: WatermarkKey, logits: Float32Array, context: Uint32Array, out?: Float32Array): Float32Array {
  const pk = prepareKey(key)
  if (!pk.scheme.biasLogits) {
    throw new TokenmarkError('E_BAD_PARAM', `scheme ${key.scheme} has no logits-bias form; use watermarkSampler`)
  }
  const vocabSize = keyVocabSize(key)
  if (vocabSize !== undefined) checkLogitsLength(key, vocabSize, logits.length)
  return pk.scheme.biasLogits(pk.prf, logits, context, out ?? new Float32Array(logits.length))
}
