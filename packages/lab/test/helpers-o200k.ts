/** The real reference setting: o200k_base ids, order 4, the full Moby Dick train split. */
import { getTokenizer, type Tokenizer } from '@tokenmark/core'
import { type NGramModel, encodeCorpus, trainReferenceModel } from '@tokenmark/lab'

let cached: { tokenizer: Tokenizer; model: NGramModel; trainMs: number } | undefined

export function o200kModel() {
  if (cached) return cached
  const tokenizer = getTokenizer('o200k_base')
  const t0 = performance.now()
  const model = trainReferenceModel(tokenizer)
  cached = { tokenizer, model, trainMs: performance.now() - t0 }
  return cached
}

export function o200kHeldout(): Uint32Array[] {
  return encodeCorpus(o200kModel().tokenizer, 'heldout')
}
