import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { parseNumber } from '../io.js'
import type { DetectOptions } from '../impl/detect.js'

/** Options as commander parses them from the declaration below: impl/detect.ts's, with --alpha unparsed. */
type DetectCliOptions = Omit<DetectOptions, 'alpha'> & { alpha: string }

/** The checks that need only the option values, made before core loads. */
function check(o: DetectCliOptions): DetectOptions {
  if (o.json && o.jsonl) throw new CliError('use either --json or --jsonl')
  if (o.jsonl && (o.show || o.html)) throw new CliError('--show and --html view one text; they do not go with --jsonl')
  if (o.json && o.show) throw new CliError('use either --json or --show')
  if (o.diagnose) {
    const clash = [o.window && '--window', !o.dedup && '--no-dedup', o.marks && '--marks', o.show && '--show', o.html !== undefined && '--html'].find(Boolean)
    if (clash) throw new CliError(`--diagnose tries configurations for a verdict; it does not go with ${clash}`)
    if (o.key.length !== 1) throw new CliError('--diagnose takes one --key (the key the text should match)')
  }
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
    .option('--no-dedup', 'score repeated (context, token) tuples every time: NOT a valid test (no verdict; a warning)')
    .option('--no-normalize', 'skip Unicode normalisation (NFC, invisible characters, homoglyphs)')
    .option('--marks', 'include per-token marks in JSON output')
    .option('--show', 'print the text with each token coloured: green matched the key, red did not, grey not scored')
    .option('--html <file>', 'write that view, with the numbers and a legend, as a self-contained HTML page')
    .option('--prompt <text>', 'the prompt that produced the text: context for its first tokens, its tuples not scored')
    .option('--diagnose', 'explain a miss: also try every other tokenizer, normalisation off, other context widths and seeding, the prompt ignored; one row each, the verdict corrected for all of them')
    .option('--json', 'print one JSON object')
    .option('--jsonl', 'read JSON lines {id, text, prompt?}; print one result line per input (an error record for a line with nothing to score)')
    .action(async (path: string, o: DetectCliOptions) => {
      const options = check(o)
      const { run } = await import('../impl/detect.js')
      return run(path, options)
    })
}
