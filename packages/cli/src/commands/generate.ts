import type { Command } from 'commander'

/** Options as commander parses them from the declaration below. */
export interface GenerateCliOptions {
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
    .action(async (o: GenerateCliOptions) => {
      const { run } = await import('../impl/generate.js')
      return run(o)
    })
}
