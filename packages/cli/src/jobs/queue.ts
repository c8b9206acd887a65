/**
 * The job queue of sharded scans: pg-boss on the same PostgreSQL (README: "Sharded scans"). One
 * connection helper so that the scan command and workers configure pg-boss the same way.
 */
import PgBoss from 'pg-boss'
import { CliError } from '../errors.js'

/** A started pg-boss on `url`; its schema is created or migrated on first use. */
export async function startBoss(url: string, opts: { worker: boolean }): Promise<PgBoss> {
  // Workers run pg-boss's maintenance, which expires jobs of dead workers: every 5 s, so a shard held by a
  // killed worker is retried within --shard-timeout + 5 s (pg-boss takes a lock: one runs it at a time).
  const boss = new PgBoss({ connectionString: url, max: 4, supervise: opts.worker, schedule: false, maintenanceIntervalSeconds: 5 })
  boss.on('error', (e: Error) => process.stderr.write(`tokenmark: job queue: ${e.message}\n`))
  try {
    await boss.start()
  } catch (e) {
    throw new CliError(`cannot reach the job queue database: ${dbReason(e)}`)
  }
  return boss
}

/** A database error as a short reason that never repeats the URL (it may hold a password). */
export function dbReason(e: unknown): string {
  const err = e as { code?: string; message?: string }
  return err.code ?? (err.message ?? 'error').replace(/postgres(ql)?:\/\/\S+/g, '<db>')
}
