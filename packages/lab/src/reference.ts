/**
 * The reference model: an n-gram model over a real tokenizer's ids trained on a part of the Moby Dick
 * corpus (default: order 4 on `train`, o200k_base in practice). What the CLI, the evaluation grid and the
 * distillation simulation start from.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { type CorpusPart, corpusPart } from './corpus.js'
import { LabError } from './errors.js'
import type { TextCodec } from './generate.js'
import { NGramModel } from './ngram.js'
import { loadModelFile, saveModelFile } from './serialize.js'

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

/**
 * Loads the model cached at `path` if it was trained with this tokenizer (by name and vocabulary size) and
 * order; otherwise trains it with `trainReferenceModel` and writes it there (creating the directory).
 * Returns where the model came from, so a CLI can say so.
 */
export function cachedReferenceModel(
  tokenizer: TextCodec & { readonly name: string },
  path: string,
  options: ReferenceModelOptions = {},
): { model: NGramModel; source: 'cache' | 'trained' } {
  const order = options.order ?? 4
  if (existsSync(path)) {
    try {
      const { model, tokenizer: name } = loadModelFile(path)
      if (name === tokenizer.name && model.vocabSize === tokenizer.vocabSize && model.order === order) return { model, source: 'cache' }
    } catch (e) {
      if (!(e instanceof LabError)) throw e // an unreadable cache is retrained and overwritten
    }
  }
  const model = trainReferenceModel(tokenizer, { ...options, order })
  mkdirSync(dirname(path), { recursive: true })
  saveModelFile(path, model, { tokenizer: tokenizer.name })
  return { model, source: 'trained' }
}
