import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { parseNumber } from '../io.js'
import type { ScanOptions } from '../impl/scan.js'

/** Options as commander parses them from the declaration below: impl/scan.ts's, with --alpha, --format, --split, --shards and --shard-timeout unchecked. */
type ScanCliOptions = Omit<ScanOptions, 'key' | 'alpha' | 'format' | 'split' | 'shards' | 'workers' | 'shardTimeout'> & {
  key?: string
  alpha: string
  format: string
  split: string
  shards?: string
  workers?: string
  shardTimeout: string
  schedule?: string
  schedulePublic?: string
  log?: string
  logFilter?: boolean
  everyServedKey?: boolean
}

/** --key FILE, or --schedule FILE --schedule-public FILE [--log LOG] (replay answers scored per serving key). */
function checkKeying(o: ScanCliOptions): void {
  if ((o.key === undefined) === (o.schedule === undefined)) throw new CliError('give --key FILE, or --schedule FILE with --schedule-public FILE (one of them)')
  if (o.schedule === undefined) {
    if (o.schedulePublic !== undefined || o.log !== undefined || o.logFilter === true || o.everyServedKey === true) throw new CliError('--schedule-public, --log, --log-filter and --every-served-key go with --schedule')
    return
  }
  if (o.schedulePublic === undefined) throw new CliError('--schedule needs --schedule-public (the schedule\'s public description)')
  for (const [flag, v] of [['--filter', o.filter], ['--tokenizer', o.tokenizer], ['--shard', o.shard], ['--shards', o.shards], ['--workers', o.workers]] as const) {
    if (v !== undefined) throw new CliError(`${flag} does not go with --schedule (the schedule names its keys and tokenizer; log filter builds per-key filters)`)
  }
  if (!o.dedup) throw new CliError('--schedule scores with de-duplication per key; drop --no-dedup')
  if (o.logFilter === true && o.log === undefined) throw new CliError('--log-filter builds its filters from the serving log: give --log')
}

/** The checks that need only the option values, made before core loads. */
function check(o: ScanCliOptions): ScanOptions {
  checkKeying(o)
  const alpha = parseNumber('--alpha', o.alpha)
  if (!(alpha > 0 && alpha < 1)) throw new CliError('--alpha must be in (0, 1)')
  if (!['auto', 'jsonl', 'text'].includes(o.format)) throw new CliError('--format must be auto, jsonl or text')
  if (!['none', 'paragraphs'].includes(o.split)) throw new CliError('--split must be none or paragraphs')
  const shardTimeout = parseNumber('--shard-timeout', o.shardTimeout)
  if (!(Number.isInteger(shardTimeout) && shardTimeout >= 1 && shardTimeout < 86400)) throw new CliError('--shard-timeout must be whole seconds in [1, 86399]')
  return { ...o, key: o.key as string, alpha, format: o.format as ScanOptions['format'], split: o.split as ScanOptions['split'], shards: undefined, workers: undefined, shardTimeout, ...checkSharding(o) }
}

/** --shard i/S --out FILE (one shard by hand), --shards S --db URL (all shards through the job queue) or --workers N (threads here). */
function checkSharding(o: ScanCliOptions): { shards?: number; db?: string; workers?: number } {
  if ((o.shard === undefined) !== (o.out === undefined)) throw new CliError('--shard i/S and --out <file.tmacc> go together')
  if (o.partsOut !== undefined && o.shards === undefined && o.workers === undefined) throw new CliError('--parts-out goes with --shards or --workers')
  if (o.workers !== undefined) {
    if (o.shards !== undefined || o.shard !== undefined) throw new CliError('use one of --workers (threads here), --shards (through --db) and --shard (one by hand)')
    const workers = parseNumber('--workers', o.workers)
    if (!(Number.isInteger(workers) && workers >= 1 && workers <= 256)) throw new CliError('--workers must be an integer in [1, 256]')
    if (!o.dedup) throw new CliError('sharded scans partition the de-duplication set; they need de-duplication on (drop --no-dedup)')
    return { workers }
  }
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
    .argument('<corpus...>', 'JSON-lines files ({"text", "prompt"?, "id"?} per line) or plain text files (one text each, or --split paragraphs); - for stdin')
    .option('--key <file>', 'key file (or --schedule)')
    .option('--schedule <file>', 'instead of --key: a key schedule\'s secret file; replay answers (probe --replay) are scored under the key that served each prompt, with per-cohort and per-epoch tests (Holm)')
    .option('--schedule-public <file>', 'with --schedule: its public description (.schedule.json)')
    .option('--log <file>', 'with --schedule: the serving log; a line\'s "seq" names its record (key and prompt)')
    .option('--every-served-key', 'with --schedule: score every answer under every key that served one of the replayed prompts, not only its own (a student blends its harvest across prompts); pooled, exact')
    .option('--log-filter', 'with --log: each key scores only contexts it served in the log records the texts replay (per-key emission filters from their texts; all records with texts when the texts name keys, not records)')
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
    .option('--shard <i/S>', 'score only shard i of S of the tuple space (docs/spec.md#shards); needs --out')
    .option('--out <file>', 'with --shard: write the shard part (.tmacc) here instead of printing a result; `tokenmark merge` adds parts up')
    .option('--shards <S>', 'split the scan into S shard jobs on the PostgreSQL queue at --db, wait for `tokenmark worker`s, merge, print')
    .option('--db <url>', 'with --shards: postgres://… database of the job queue (default: TOKENMARK_DB)')
    .option('--workers <N>', 'split the scan over N threads of this process (route blocks of texts, then reduce shards: docs/spec.md#shards); prints what scan prints, and with --parts-out what --shards prints')
    .option('--parts-out <dir>', 'with --shards or --workers: also write the merged parts (.tmacc, named by their SHA-256) to this folder, e.g. for report --parts')
    .option('--shard-timeout <s>', 'with --shards: seconds a worker may hold a shard before it is given to another (a worker that died)', '3600')
    .action(async (corpus: string[], o: ScanCliOptions) => {
      const options = check(o)
      if (o.schedule !== undefined) {
        const { run } = await import('../impl/scan-schedule.js')
        return run(corpus, { ...options, schedule: o.schedule, schedulePublic: o.schedulePublic as string, log: o.log, logFilter: o.logFilter === true, everyServedKey: o.everyServedKey === true })
      }
      // --workers loads core only after its threads have started (scan-threads.ts).
      if (options.workers !== undefined) return (await import('../impl/scan-threads.js')).runThreads(corpus, options)
      const { run } = await import('../impl/scan.js')
      return run(corpus, options)
    })
}
