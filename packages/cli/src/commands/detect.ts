import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { parseNumber } from '../io.js'

/** Options as commander parses them from the declaration below. */
interface DetectCliOptions {
  key: string[]
  tokenizer?: string
  tokenizerFile?: string
  alpha: string
  window?: boolean
  dedup: boolean
  normalize: boolean
  json?: boolean
  jsonl?: boolean
  marks?: boolean
  diagnose?: boolean
}

/** `detect`'s options once checked. */
export type DetectOptions = Omit<DetectCliOptions, 'alpha'> & { alpha: number }

/** The checks that need only the option values, made before core loads. */
function check(o: DetectCliOptions): DetectOptions {
  if (o.json && o.jsonl) throw new CliError('use either --json or --jsonl')
  const alpha = parseNumber('--alpha', o.alpha)
  if (!(alpha > 0 && alpha < 1)) throw new CliError('--alpha must be in (0, 1)')
  return { ...o, alpha }
}

export function registerDetect(program: Command): void {
  program
    .command('detect')
    .description('test a text (file or stdin) for a watermark; --jsonl tests one JSON line {id, text} at a time')
    .argument('[path]', 'text file, or - for stdin', '-')
    .requiredOption('--key <file>', 'key file (repeat for a key ring; the p-value is corrected for the number of keys)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--tokenizer <name>', "tokenizer (default: the key's)")
    .option('--tokenizer-file <file>', 'a Hugging Face tokenizer.json to tokenize with')
    .option('--alpha <a>', 'significance level for the verdict', '1e-6')
    .option('--window', 'also find the most significant span (corrected for every window examined)')
    .option('--no-dedup', 'score repeated (context, token) tuples every time (reported in the result)')
    .option('--no-normalize', 'skip Unicode normalisation (NFC, invisible characters, homoglyphs)')
    .option('--marks', 'include per-token marks in JSON output')
    .option('--json', 'print one JSON object')
    .option('--jsonl', 'read JSON lines with id and text; print one result line per input')
    .option('--diagnose', 'explain a miss: try other tokenizers, normalisation and context widths; p corrected for all tried')
    .action(async (path: string, o: DetectCliOptions) => {
      const options = check(o)
      if (options.diagnose) return (await import('../impl/diagnose.js')).run(path, options)
      const { run } = await import('../impl/detect.js')
      return run(path, options)
    })
}
