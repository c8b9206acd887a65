import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { parseNumber } from '../io.js'
import type { GenerateCliOptions, GenerateOptions } from '../impl/generate.js'

/** The checks that need only the option values, made before the model (core, lab) loads. */
function check(o: GenerateCliOptions): GenerateOptions {
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
  return { ...o, maxTokens, seed, temperature, topK, stop: o.stop as GenerateOptions['stop'] }
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('generate text with the reference n-gram model, watermarked when --key is given')
    .option('--key <file>', 'watermark key file (without it the text is unwatermarked)')
    .option('--model <file>', 'n-gram model file (default: the reference model, trained on first use and cached)')
    .option('--neural', 'generate with the shipped neural model (models/tinylm, its own tokenizer "tinylm") instead of the n-gram one')
    .option('--prompt <text>', 'one prompt')
    .option('--prompts <file>', 'JSONL file of prompts ({"id", "prompt"} per line)')
    .option('--max-tokens <n>', 'tokens to generate per prompt', '200')
    .option('--seed <s>', 'sampling seed (prompt i uses a seed derived from it)', '1')
    .option('--temperature <t>', 'softmax temperature (0 = greedy, unwatermarked only)', '1')
    .option('--top-k <k>', "sample among the model's k most probable tokens (0 = whole vocabulary, slow)", '50')
    .option('--stop <at>', 'stop at none, sentence or paragraph', 'none')
    .option('--record-filter <file>', 'write the emission filter of the watermarked responses (for scan --filter)')
    .option('--jsonl', 'print one {id, prompt, text} line per prompt')
    .action(async (o: GenerateCliOptions) => {
      const options = check(o)
      const { run } = await import('../impl/generate.js')
      return run(options)
    })
}
