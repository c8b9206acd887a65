import type { Command } from 'commander'
import { DISTILL_RHOS } from '../help-facts.js'

/** Options as commander parses them from the declaration below. */
export interface DistillCliOptions {
  rho?: string
  table?: boolean
  filter?: boolean
  key?: string
  seed: string
  trainTokens?: string
  servedTokens?: string
  probeAnswers?: string
  json?: boolean
}

export function registerLab(program: Command): void {
  const lab = program.command('lab').description('simulations with the reference model (see packages/lab/README.md)')
  const distill = lab
    .command('distill')
    .description('distillation simulation: a student trained on a fraction rho of watermarked teacher responses, probed and scanned')
    .option('--rho <r>', 'fraction of the student\'s training tokens that are teacher responses, in [0, 1]')
    .option('--table', `run every rho (${DISTILL_RHOS.join(', ')}) with the filter off and on; print the Markdown table`)
    .option('--filter', "score only contexts the teacher served (the emission filter)")
    .option('--key <file>', 'teacher key (default: a fixed simulation key from --seed, kgw h = 3)')
    .option('--seed <s>', 'seed of every non-watermark random choice (and of the default key)', '1')
    .option('--train-tokens <n>', 'student training tokens (default 90,000)')
    .option('--served-tokens <n>', 'teacher response tokens served and recorded in the filter (default: --train-tokens)')
    .option('--probe-answers <n>', 'student answers the investigator collects (default 1,000)')
    .option('--json', 'print JSON (one object; with --table, {setup, rows})')
    .action(async (o: DistillCliOptions) => {
      const { run } = await import('../impl/lab-distill.js')
      return run(o)
    })
  // nested commands need the one-line error format too (program.ts applies it to top-level ones)
  distill.exitOverride().configureOutput(program.configureOutput())
}
