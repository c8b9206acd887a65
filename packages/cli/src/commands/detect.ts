import type { Command } from 'commander'

/** Options as commander parses them from the declaration below. */
export interface DetectCliOptions {
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
    .action(async (path: string, o: DetectCliOptions) => {
      const { run } = await import('../impl/detect.js')
      return run(path, o)
    })
}
