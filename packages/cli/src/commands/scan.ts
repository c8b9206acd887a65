import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { parseNumber } from '../io.js'
import type { ScanOptions } from '../impl/scan.js'

/** Options as commander parses them from the declaration below: impl/scan.ts's, with --alpha, --format and --split unchecked. */
type ScanCliOptions = Omit<ScanOptions, 'alpha' | 'format' | 'split'> & { alpha: string; format: string; split: string }

/** The checks that need only the option values, made before core loads. */
function check(o: ScanCliOptions): ScanOptions {
  const alpha = parseNumber('--alpha', o.alpha)
  if (!(alpha > 0 && alpha < 1)) throw new CliError('--alpha must be in (0, 1)')
  if (!['auto', 'jsonl', 'text'].includes(o.format)) throw new CliError('--format must be auto, jsonl or text')
  if (!['none', 'paragraphs'].includes(o.split)) throw new CliError('--split must be none or paragraphs')
  return { ...o, alpha, format: o.format as ScanOptions['format'], split: o.split as ScanOptions['split'] }
}

export function registerScan(program: Command): void {
  program
    .command('scan')
    .description('corpus test: score many texts from one suspect source together (de-duplicated across the corpus)')
    .argument('<corpus...>', 'JSON-lines files ({"text", "prompt"?, "id"?} per line) or plain text files (one text each, or --split paragraphs); - for stdin')
    .requiredOption('--key <file>', 'key file')
    .option('--prompts <file>', 'prompts the texts answered (JSON lines {id, prompt}): a prompt whose id names a text is its prompt; all are excluded from scoring')
    .option('--filter <file>', 'emission filter (tokenmark generate --record-filter, or EmissionFilter.toBytes()): score only contexts the provider served')
    .option('--format <f>', 'auto (.jsonl/.ndjson, or a file starting with "{", is JSON lines), jsonl or text', 'auto')
    .option('--split <mode>', 'none (a plain text file is one text) or paragraphs (texts separated by blank lines)', 'none')
    .option('--tokenizer <name>', "tokenizer (default: the key's)")
    .option('--alpha <a>', 'significance level for the verdict', '1e-6')
    .option('--no-dedup', 'score repeated (context, token) tuples every time: NOT a valid test (no verdict; a warning)')
    .option('--no-normalize', 'skip Unicode normalisation')
    .option('--no-progress', 'no progress bar on stderr (it is drawn only on a terminal anyway)')
    .option('--json', 'print the result as one JSON object')
    .action(async (corpus: string[], o: ScanCliOptions) => {
      const options = check(o)
      const { run } = await import('../impl/scan.js')
      return run(corpus, options)
    })
}
