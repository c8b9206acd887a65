import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { parseNumber } from '../io.js'
import { DISTILL_RHOS } from '../help-facts.js'
import type { DistillCliOptions, LabDistillOptions } from '../impl/lab-distill.js'
import { registerLabAttribution } from './lab-attribution.js'

function int(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = parseNumber(flag, v)
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${flag} must be a whole number ≥ 1`)
  return n
}

/** The checks that need only the option values, made before lab loads. */
function checkDistill(o: DistillCliOptions): LabDistillOptions {
  if ((o.rho === undefined) === (o.table === undefined)) throw new CliError('give --rho R (one cell) or --table (every cell)')
  const rho = o.rho === undefined ? undefined : parseNumber('--rho', o.rho)
  if (rho !== undefined && !(rho >= 0 && rho <= 1)) throw new CliError('--rho must be in [0, 1] (a fraction: 0.01 is 1 %)')
  if (typeof o.filter === 'string' && !['off', 'on', 'served', 'accounts'].includes(o.filter)) {
    throw new CliError(`--filter must be one of off, served, accounts (a bare --filter means served), not "${o.filter.slice(0, 30)}"`)
  }
  const seed = parseNumber('--seed', o.seed)
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new CliError('--seed must be a whole number in [0, 4294967295]')
  return {
    ...o,
    rho,
    seed,
    trainTokens: int('--train-tokens', o.trainTokens),
    servedTokens: int('--served-tokens', o.servedTokens),
    probeAnswers: int('--probe-answers', o.probeAnswers),
  }
}

export function registerLab(program: Command): void {
  const lab = program.command('lab').description('simulations with the reference model (see packages/lab/README.md)')
  const distill = lab
    .command('distill')
    .description('distillation simulation: a student trained on a fraction rho of watermarked teacher responses, probed and scanned')
    .option('--rho <r>', 'fraction of the student\'s training tokens that are teacher responses, in [0, 1]')
    .option('--table', `run every rho (${DISTILL_RHOS.join(', ')}) with each filter mode (off, served, accounts); print the Markdown table`)
    .option('--filter [mode]', 'emission filter: served (every context the teacher served; a bare --filter) or accounts (only the harvesting accounts\' responses); default off')
    .option('--key <file>', 'teacher key (default: a fixed simulation key from --seed, kgw h = 3)')
    .option('--seed <s>', 'seed of every non-watermark random choice (and of the default key)', '1')
    .option('--train-tokens <n>', 'student training tokens (default 90,000)')
    .option('--served-tokens <n>', 'teacher response tokens served and recorded in the filter (default: --train-tokens)')
    .option('--probe-answers <n>', 'student answers the investigator collects (default 1,000)')
    .option('--json', 'print JSON (one object; with --table, {setup, rows})')
    .action(async (o: DistillCliOptions) => {
      const options = checkDistill(o)
      const { run } = await import('../impl/lab-distill.js')
      return run(options)
    })
  // nested commands need the one-line error format too (program.ts applies it to top-level ones)
  distill.exitOverride().configureOutput(program.configureOutput())
  registerLabAttribution(lab, program)
}
