import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { parseNumber } from '../io.js'

/** Options as commander parses them from the declaration below. */
interface ScanCliOptions {
  key: string
  prompts?: string
  filter?: string
  format: string
  tokenizer?: string
  alpha: string
  dedup: boolean
  normalize: boolean
  progress: boolean
  json?: boolean
  shard?: string
  out?: string
  shards?: string
  db?: string
  shardTimeout: string
}

/** `scan`'s options once checked. */
export type ScanOptions = Omit<ScanCliOptions, 'alpha' | 'format' | 'shards' | 'shardTimeout'> & { alpha: number; format: 'auto' | 'jsonl' | 'text'; shards?: number; shardTimeout: number }

/** The checks that need only the option values, made before core loads. */
function check(o: ScanCliOptions): ScanOptions {
  const alpha = parseNumber('--alpha', o.alpha)
  if (!(alpha > 0 && alpha < 1)) throw new CliError('--alpha must be in (0, 1)')
  if (!['auto', 'jsonl', 'text'].includes(o.format)) throw new CliError('--format must be auto, jsonl or text')
  const shardTimeout = parseNumber('--shard-timeout', o.shardTimeout)
  if (!(Number.isInteger(shardTimeout) && shardTimeout >= 1 && shardTimeout < 86400)) throw new CliError('--shard-timeout must be whole seconds in [1, 86399]')
  return { ...o, alpha, format: o.format as ScanOptions['format'], shards: undefined, shardTimeout, ...checkSharding(o) }
}

/** --shard i/S --out FILE (one shard by hand) or --shards S --db URL (all shards through the job queue). */
function checkSharding(o: ScanCliOptions): { shards?: number; db?: string } {
  if ((o.shard === undefined) !== (o.out === undefined)) throw new CliError('--shard i/S and --out <file.tmacc> go together')
  if (o.shards === undefined) return {}
  if (o.shard !== undefined) throw new CliError('use either --shard (one shard by hand) or --shards (all shards through --db)')
  const shards = parseNumber('--shards', o.shards)
  if (!(Number.isInteger(shards) && shards >= 1 && shards <= 65536)) throw new CliError('--shards must be an integer in [1, 65536]')
  const db = o.db ?? process.env.TOKENMARK_DB
  if (db === undefined || !/^postgres(ql)?:\/\//.test(db)) throw new CliError('--shards needs --db postgres://… (or TOKENMARK_DB) where `tokenmark worker` processes run')
  if (!o.dedup) throw new CliError('sharded scans partition the de-duplication set; they need de-duplication on (drop --no-dedup)')
  return { shards, db }
}

export function registerScan(program: Command): void {
  program
    .command('scan')
    .description('corpus test: score many texts from one suspect source together (de-duplicated across the corpus)')
    .argument('<corpus...>', 'JSONL files ({"text"} per line) or text files (one text per paragraph); - for stdin')
    .requiredOption('--key <file>', 'key file')
    .option('--prompts <file>', 'JSONL prompts the texts answered; their tuples are excluded from scoring')
    .option('--filter <file>', 'emission filter (tokenmark generate --record-filter, or EmissionFilter.toBytes()): score only contexts the provider served')
    .option('--format <f>', 'auto (by extension: .jsonl/.ndjson are JSONL), jsonl or text', 'auto')
    .option('--tokenizer <name>', "tokenizer (default: the key's)")
    .option('--alpha <a>', 'significance level for the verdict', '1e-6')
    .option('--no-dedup', 'score repeated (context, token) tuples every time (reported in the result)')
    .option('--no-normalize', 'skip Unicode normalisation')
    .option('--no-progress', 'no progress bar on stderr (it is drawn only on a terminal anyway)')
    .option('--json', 'print the result as one JSON object')
    .option('--shard <i/S>', 'score only shard i of S of the tuple space (docs/spec.md#shards); needs --out')
    .option('--out <file>', 'with --shard: write the shard part (.tmacc) here instead of printing a result; `tokenmark merge` adds parts up')
    .option('--shards <S>', 'split the scan into S shard jobs on the PostgreSQL queue at --db, wait for `tokenmark worker`s, merge, print')
    .option('--db <url>', 'with --shards: postgres://… database of the job queue (default: TOKENMARK_DB)')
    .option('--shard-timeout <s>', 'with --shards: seconds a worker may hold a shard before it is given to another (a worker that died)', '3600')
    .action(async (corpus: string[], o: ScanCliOptions) => {
      const options = check(o)
      const { run } = await import('../impl/scan.js')
      return run(corpus, options)
    })
}
