/** What `tokenmark generate` does. Its options are declared in commands/generate.ts; this module loads only when it runs. */
import { writeFileSync } from 'node:fs'
import { EmissionFilter, prepareKey, seededRng, TokenmarkError, watermarkSampler, type WatermarkKey } from '@tokenmark/core'
import { LabError, generate, subSeed } from '@tokenmark/lab'
import { CliError } from '../errors.js'
import { parseNumber, readPromptsJsonl } from '../io.js'
import { loadKey } from '../load.js'
import { loadReferenceModel } from '../model.js'
import type { GenerateCliOptions } from '../commands/generate.js'

export function run(o: GenerateCliOptions): void {
  if ((o.prompt === undefined) === (o.prompts === undefined)) throw new CliError('give exactly one of --prompt TEXT or --prompts FILE.jsonl')
  const maxTokens = parseNumber('--max-tokens', o.maxTokens)
  const seed = parseNumber('--seed', o.seed)
  const temperature = parseNumber('--temperature', o.temperature)
  const topK = parseNumber('--top-k', o.topK)
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > 1_000_000) throw new CliError('--max-tokens must be a whole number in [1, 1000000]')
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new CliError('--seed must be a whole number in [0, 4294967295]')
  if (!(temperature >= 0)) throw new CliError('--temperature must be ≥ 0')
  if (!Number.isInteger(topK) || topK < 0) throw new CliError('--top-k must be a whole number ≥ 0')
  if (!['none', 'sentence', 'paragraph'].includes(o.stop)) throw new CliError('--stop must be none, sentence or paragraph')
  const key: WatermarkKey | undefined = o.key === undefined ? undefined : loadKey(o.key)
  if (key !== undefined && temperature === 0) throw new CliError('a watermark needs sampling: use --temperature > 0 with --key')
  if (o.recordFilter !== undefined && key === undefined) throw new CliError('--record-filter needs --key (it records watermarked responses)')
  const prompts = o.prompts !== undefined ? readPromptsJsonl(o.prompts) : [{ id: 1, prompt: o.prompt as string }]
  const { model, tokenizer } = loadReferenceModel({ modelPath: o.model, tokenizer: key?.config.tokenizer, log: (m) => process.stderr.write(`tokenmark: ${m}\n`) })
  if (key !== undefined && tokenizer.name !== key.config.tokenizer) throw new CliError(`the model uses tokenizer ${tokenizer.name} but the key was made for ${key.config.tokenizer}`)
  const filter = o.recordFilter !== undefined ? new EmissionFilter({ capacity: Math.max(1, prompts.length * maxTokens) }) : undefined
  prompts.forEach(({ id, prompt }, i) => {
    const s = prompts.length === 1 ? seed : subSeed(seed, `prompt/${i}`)
    let g
    try {
      g = generate(model, tokenizer, prompt, {
        maxTokens,
        temperature,
        topK,
        seed: s,
        stopAt: o.stop as 'none' | 'sentence' | 'paragraph',
        sampler: key === undefined ? undefined : watermarkSampler(key, { temperature, topK }, seededRng(s)),
      })
    } catch (e) {
      if (e instanceof LabError || e instanceof TokenmarkError) throw new CliError(e.message)
      throw e
    }
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
