/** What `tokenmark generate` does. Its options type lives here; commands/generate.ts declares the flags and loads this module only when it runs. */
import { writeFileSync } from 'node:fs'
import { EmissionFilter, prepareKey, seededRng, watermarkSampler, type WatermarkKey } from '@tokenmark/core'
import { generate, subSeed } from '@tokenmark/lab'
import { CliError } from '../errors.js'
import { readPromptsFile } from '../corpus.js'
import { loadKey } from '../load.js'
import { loadGenerator } from '../model.js'

/** Options as commander parses them from the declaration below. */
export interface GenerateCliOptions {
  key?: string
  model?: string
  /** The neural model (models/tinylm) instead of the n-gram reference model. */
  neural?: boolean
  prompt?: string
  prompts?: string
  maxTokens: string
  seed: string
  temperature: string
  topK: string
  stop: string
  jsonl?: boolean
  recordFilter?: string
}

/** `generate`'s options once checked. */
export type GenerateOptions = Omit<GenerateCliOptions, 'maxTokens' | 'seed' | 'temperature' | 'topK' | 'stop'> & {
  maxTokens: number
  seed: number
  temperature: number
  topK: number
  stop: 'none' | 'sentence' | 'paragraph'
}

export function run(o: GenerateOptions): void {
  const { maxTokens, seed, temperature, topK } = o
  const key: WatermarkKey | undefined = o.key === undefined ? undefined : loadKey(o.key)
  if (key !== undefined && temperature === 0) throw new CliError('a watermark needs sampling: use --temperature > 0 with --key')
  if (o.recordFilter !== undefined && key === undefined) throw new CliError('--record-filter needs --key (it records watermarked responses)')
  const prompts = o.prompts !== undefined ? readPromptsFile(o.prompts) : [{ id: '1', prompt: o.prompt as string }]
  const { model, tokenizer } = loadGenerator({ neural: o.neural, modelPath: o.model, tokenizer: key?.config.tokenizer, log: (m) => process.stderr.write(`tokenmark: ${m}\n`) })
  if (key !== undefined && tokenizer.name !== key.config.tokenizer) throw new CliError(`the model uses tokenizer ${tokenizer.name} but the key was made for ${key.config.tokenizer}`)
  const filter = o.recordFilter !== undefined ? new EmissionFilter({ capacity: Math.max(1, prompts.length * maxTokens) }) : undefined
  prompts.forEach(({ id, prompt }, i) => {
    const s = prompts.length === 1 ? seed : subSeed(seed, `prompt/${i}`)
    let g
    g = generate(model, tokenizer, prompt, {
      maxTokens,
      temperature,
      topK,
      seed: s,
      stopAt: o.stop,
      sampler: key === undefined ? undefined : watermarkSampler(key, { temperature, topK }, seededRng(s)),
    })
    if (filter !== undefined && key !== undefined) filter.recordResponse(prepareKey(key), g.ids, g.promptIds)
    process.stdout.write(o.jsonl ? JSON.stringify({ id, prompt, text: g.text }) + '\n' : g.text + '\n')
  })
  if (filter !== undefined && o.recordFilter !== undefined) {
    try {
      writeFileSync(o.recordFilter, filter.toBytes())
    } catch (e) {
      throw new CliError(`cannot write ${o.recordFilter}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`)
    }
    process.stderr.write(`tokenmark: recorded ${filter.added} contexts in ${o.recordFilter}\n`)
  }
}
