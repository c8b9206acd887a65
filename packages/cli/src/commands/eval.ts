import type { Command } from 'commander'
import { DEFAULT_ATTACKS } from '../help-facts.js'
import type { EvalCliOptions } from '../impl/eval.js'

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('evaluation grid: schemes × attacks × lengths on the reference model (TPR at FPR 1e-2/1e-4/1e-6, AUC, size, quality)')
    .option('--schemes <ids>', 'comma-separated scheme ids (default parameters)', 'kgw,gumbel,synthid,unigram')
    .option('--attacks <list>', `comma-separated name:strength (default ${DEFAULT_ATTACKS.map((a) => `${a.name}:${a.strength}`).join(',')})`)
    .option('--lengths <list>', 'text lengths in tokens', '25,50,100,200')
    .option('--texts <n>', 'texts per scheme (watermarked and as many unwatermarked)', '40')
    .option('--seed <s>', 'seed of keys, prompts, sampling and attacks', '1')
    .option('--model <file>', 'generator model file (default: the cached reference model)')
    .option('--neural', 'generate, attack and judge quality with the shipped neural model (models/tinylm) instead of the n-gram one')
    .option('--out <file>', 'also write the full result as JSON to this file')
    .option('--json', 'print JSON instead of Markdown')
    .action(async (o: EvalCliOptions) => {
      const { run } = await import('../impl/eval.js')
      return run(o)
    })
}
