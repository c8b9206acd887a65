import { readFileSync, writeFileSync } from 'node:fs'
import { EmissionFilter, prepareKey, seededRng, TokenmarkError, watermarkSampler, type WatermarkKey } from '@tokenmark/core'
import { LabError, generate, subSeed } from '@tokenmark/lab'
import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { loadKey, parseNumber } from '../io.js'
import { loadReferenceModel } from '../model.js'

interface GenerateCliOptions {
  key?: string
  model?: string
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

/** Prompts from a JSONL file: one object per line with a string `prompt` (or `text`) and an optional `id`. */
export function readPromptsJsonl(path: string): { id: unknown; prompt: string }[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`)
  }
  const out: { id: unknown; prompt: string }[] = []
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return
    let rec: unknown
    try {
      rec = JSON.parse(line)
    } catch {
      throw new CliError(`${path} line ${i + 1}: not valid JSON`)
    }
    const r = rec as { id?: unknown; prompt?: unknown; text?: unknown }
    const prompt = typeof r?.prompt === 'string' ? r.prompt : typeof r?.text === 'string' ? r.text : undefined
    if (prompt === undefined) throw new CliError(`${path} line ${i + 1}: needs a string field "prompt"`)
    out.push({ id: r.id ?? out.length + 1, prompt })
  })
  return out
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('generate text with the reference n-gram model, watermarked when --key is given')
    .option('--key <file>', 'watermark key file (without it the text is unwatermarked)')
    .option('--model <file>', 'n-gram model file (default: the reference model, trained on first use and cached)')
    .option('--prompt <text>', 'one prompt')
    .option('--prompts <file>', 'JSONL file of prompts ({"id", "prompt"} per line)')
    .option('--max-tokens <n>', 'tokens to generate per prompt', '200')
    .option('--seed <s>', 'sampling seed (prompt i uses a seed derived from it)', '1')
    .option('--temperature <t>', 'softmax temperature (0 = greedy, unwatermarked only)', '1')
    .option('--top-k <k>', "sample among the model's k most probable tokens (0 = whole vocabulary, slow)", '50')
    .option('--stop <at>', 'stop at none, sentence or paragraph', 'none')
    .option('--record-filter <file>', 'write the emission filter of the watermarked responses (for scan --filter)')
    .option('--jsonl', 'print one {id, prompt, text} line per prompt')
    .action((o: GenerateCliOptions) => {
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
    })
}
