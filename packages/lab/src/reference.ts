/**
 * The reference model: an n-gram model over a real tokenizer's ids trained on a part of the Moby Dick
 * corpus (default: order 4 on `train`, o200k_base in practice). What the CLI, the evaluation grid and the
 * distillation simulation start from.
 */
import { type CorpusPart, corpusPart } from './corpus.js'
import type { TextCodec } from './generate.js'
import { NGramModel } from './ngram.js'

export interface ReferenceModelOptions {
  /** Corpus part to train on (default `train`). */
  part?: CorpusPart | 'train'
  /** n-gram order (default 4). */
  order?: number
}

/** Tokenizes each chapter of a corpus part: one id sequence per chapter. */
export function encodeCorpus(tokenizer: TextCodec, part: CorpusPart | 'train'): Uint32Array[] {
  return corpusPart(part).map((text) => tokenizer.encode(text))
}

/** Trains an n-gram model on a corpus part, tokenized with `tokenizer` (vocabSize from the tokenizer). */
export function trainReferenceModel(tokenizer: TextCodec, options: ReferenceModelOptions = {}): NGramModel {
  return NGramModel.train(encodeCorpus(tokenizer, options.part ?? 'train'), { order: options.order ?? 4, vocabSize: tokenizer.vocabSize })
}
