import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { parseNumber } from '../io.js'
import { SCHEME_IDS } from '../help-facts.js'
import type { BenchCliOptions, BenchOptions } from '../impl/bench.js'

/** The checks that need only the option values, made before core loads. */
function check(o: BenchCliOptions): BenchOptions {
  const seconds = parseNumber('--seconds', o.seconds)
  if (!(seconds >= 0.2 && seconds <= 600)) throw new CliError('--seconds must be between 0.2 and 600')
  if (o.key === undefined && !(SCHEME_IDS as readonly string[]).includes(o.scheme)) throw new CliError(`unknown scheme "${o.scheme}"; available: ${SCHEME_IDS.join(', ')}`)
  return { ...o, seconds }
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('measure detection speed here: detect end to end against the tokenizer alone, and scoring of token ids')
    .argument('[path]', 'text to measure on (file, or - for stdin); default: 60,000 characters of Moby-Dick')
    .option('--key <file>', 'key file (default: a throwaway key of --scheme, never written anywhere)')
    .option('--scheme <id>', `scheme of the throwaway key (${SCHEME_IDS.join(', ')})`, 'kgw')
    .option('--tokenizer <name>', "tokenizer (default: the key's)")
    .option('--tokenizer-file <file>', 'a Hugging Face tokenizer.json to tokenize with')
    .option('--seconds <s>', 'time to spend measuring, in total', '4')
    .option('--json', 'print one JSON object')
    .action(async (path: string | undefined, o: BenchCliOptions) => {
      const options = check(o)
      const { run } = await import('../impl/bench.js')
      return run(path, options)
    })
}
