import { homedir } from 'node:os'
import { join } from 'node:path'
import { getTokenizer, type Tokenizer } from '@tokenmark/core'
import { NeuralModel, cachedReferenceModel, loadModelFile, neuralTokenizer, type LanguageModel, type NGramModel } from '@tokenmark/lab'
import { CliError } from './errors.js'

/** Where the default reference model is cached after its first training. */
export function defaultModelPath(tokenizer: string): string {
  const base = process.env.TOKENMARK_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tokenmark')
  return join(base, `reference-${tokenizer}-order4.tmlm`)
}

/**
 * The model behind `generate` and the demo: a model file when given, else the default reference model
 * (trained on first use from Moby Dick in a few seconds, then loaded from the cache).
 */
export function loadReferenceModel(opts: { modelPath?: string; tokenizer?: string; log?: (msg: string) => void }): { model: NGramModel; tokenizer: Tokenizer } {
  if (opts.modelPath) {
    try {
      const { model, tokenizer } = loadModelFile(opts.modelPath)
      return { model, tokenizer: getTokenizer(tokenizer ?? opts.tokenizer ?? 'o200k_base') }
    } catch (e) {
      throw new CliError(`cannot load model ${opts.modelPath}: ${(e as Error).message}`)
    }
  }
  const tokenizer = getTokenizer(opts.tokenizer ?? 'o200k_base')
  const path = defaultModelPath(tokenizer.name)
  const t0 = Date.now()
  const { model, source } = cachedReferenceModel(tokenizer, path)
  opts.log?.(source === 'trained' ? `trained the reference model in ${((Date.now() - t0) / 1000).toFixed(1)} s; cached at ${path}` : `loaded the reference model from ${path}`)
  return { model, tokenizer }
}

/**
 * The generator a command was asked for: the shipped neural model with `--neural` (models/tinylm through
 * onnxruntime-node, its own tokenizer), else the n-gram reference model as loadReferenceModel gives it.
 */
export function loadGenerator(opts: { neural?: boolean; modelPath?: string; tokenizer?: string; log?: (msg: string) => void }): { model: LanguageModel; tokenizer: Tokenizer } {
  if (!opts.neural) return loadReferenceModel(opts)
  if (opts.modelPath !== undefined) throw new CliError('use either --model or --neural')
  try {
    return { model: NeuralModel.load(), tokenizer: neuralTokenizer() }
  } catch (e) {
    throw new CliError(`cannot load the neural model: ${(e as Error).message}`)
  }
}
