/** `tokenmark merge --key FILE PART…`: adds up the shard parts of one scan (scan --shard i/S --out PART). */
import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { parseNumber } from '../io.js'

export interface MergeOptions {
  key: string
  alpha: number
  json?: boolean
}

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('add up the .tmacc shard parts of one scan (scan --shard i/S --out …) into the corpus result, with their Merkle root')
    .argument('<parts...>', 'the S parts (.tmacc), any order')
    .requiredOption('--key <file>', 'key file the parts were scored with')
    .option('--alpha <a>', 'significance level for the verdict', '1e-6')
    .option('--json', 'print the result as one JSON object (scan --json fields plus shards)')
    .action(async (parts: string[], o: { key: string; alpha: string; json?: boolean }) => {
      const alpha = parseNumber('--alpha', o.alpha)
      if (!(alpha > 0 && alpha < 1)) throw new CliError('--alpha must be in (0, 1)')
      const { run } = await import('../impl/merge.js')
      return run(parts, { key: o.key, alpha, json: o.json })
    })
}
