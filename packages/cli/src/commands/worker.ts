/** `tokenmark worker --db URL --key FILE`: scores shard jobs of `scan --shards` from the PostgreSQL queue. */
import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { parseNumber } from '../io.js'

export interface WorkerOptions {
  key: string
  db: string
  concurrency: number
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('score the shard jobs of `scan --shards` for one key from the job queue at --db, until stopped (SIGINT/SIGTERM)')
    .requiredOption('--key <file>', 'key file: the worker takes only this key\'s jobs (the key never enters the database)')
    .option('--db <url>', 'postgres://… database of the job queue (default: TOKENMARK_DB)')
    .option('--concurrency <n>', 'shards scored at once by this process', '1')
    .action(async (o: { key: string; db?: string; concurrency: string }) => {
      const db = o.db ?? process.env.TOKENMARK_DB
      if (db === undefined || !/^postgres(ql)?:\/\//.test(db)) throw new CliError('worker needs --db postgres://… (or TOKENMARK_DB)')
      const concurrency = parseNumber('--concurrency', o.concurrency)
      if (!(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 64)) throw new CliError('--concurrency must be an integer in [1, 64]')
      const { run } = await import('../impl/worker.js')
      return run({ key: o.key, db, concurrency })
    })
}
