/**
 * What `tokenmark worker` does: takes shard jobs from its key's pg-boss queue, reads the scan's texts from
 * PostgreSQL in order, scores its shard (core ShardScanner) and stores the part with its SHA-256. Storing
 * is idempotent (one part per shard), so a job retried after a worker died gives the same part.
 */
import { EmissionFilter, getTokenizer, shardPartHash, shardPartToBytes, ShardScanner } from '@tokenmark/core'
import type pg from 'pg'
import { CliError } from '../errors.js'
import { loadKey } from '../load.js'
import type { WorkerOptions } from '../commands/worker.js'
import { openScanDb, queueName, type ScanRow, type ShardJob } from '../jobs/schema.js'
import { dbReason, startBoss } from '../jobs/queue.js'

const READ_BATCH = 2000

export async function run(o: WorkerOptions): Promise<void> {
  const key = loadKey(o.key)
  let pool: pg.Pool
  try {
    pool = await openScanDb(o.db)
  } catch (e) {
    throw new CliError(`cannot open the scan database: ${dbReason(e)}`)
  }
  const boss = await startBoss(o.db, { worker: true })
  const queue = queueName(key.keyId)
  await boss.createQueue(queue)
  for (let i = 0; i < o.concurrency; i++) {
    await boss.work<ShardJob>(queue, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
      const t0 = Date.now()
      const part = await scoreShard(pool, key, job.data)
      process.stderr.write(`worker: scan ${job.data.scanId} shard ${job.data.index}/${job.data.count}: ${part.tokensSeen} tokens in ${((Date.now() - t0) / 1000).toFixed(1)} s, part ${part.sha256}\n`)
    })
  }
  process.stderr.write(`worker: taking shard jobs for key ${key.keyId} from queue ${queue}\n`)
  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await boss.stop({ graceful: true, wait: true, timeout: 30_000 }).catch(() => {})
  await pool.end().catch(() => {})
}

async function scoreShard(pool: pg.Pool, key: ReturnType<typeof loadKey>, job: ShardJob): Promise<{ sha256: string; tokensSeen: number }> {
  const done = await pool.query<{ sha256: string; tokens_seen: string }>('SELECT sha256, tokens_seen FROM tokenmark_scan.parts WHERE scan_id = $1 AND shard_index = $2', [job.scanId, job.index])
  if (done.rows.length > 0) return { sha256: done.rows[0].sha256, tokensSeen: Number(done.rows[0].tokens_seen) }
  const { rows } = await pool.query<ScanRow>('SELECT * FROM tokenmark_scan.scans WHERE id = $1', [job.scanId])
  const scan = rows[0]
  if (scan === undefined) throw new Error(`scan ${job.scanId} not found`)
  if (scan.key_id !== key.keyId) throw new Error(`scan ${job.scanId} is for another key`)
  if (scan.shard_count !== job.count) throw new Error(`scan ${job.scanId} has ${scan.shard_count} shards, not ${job.count}`)
  const scanner = new ShardScanner(
    key,
    { index: job.index, count: job.count },
    {
      tokenizer: scan.tokenizer === null ? undefined : getTokenizer(scan.tokenizer),
      normalize: scan.normalize,
      prompts: scan.prompts,
      filter: scan.filter === null ? undefined : EmissionFilter.fromBytes(new Uint8Array(scan.filter)),
    },
  )
  let after = -1
  for (;;) {
    const batch = await pool.query<{ seq: string; text: string }>('SELECT seq, text FROM tokenmark_scan.texts WHERE scan_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [job.scanId, after, READ_BATCH])
    for (const r of batch.rows) scanner.add(r.text)
    if (batch.rows.length < READ_BATCH) break
    after = Number(batch.rows[batch.rows.length - 1].seq)
  }
  const part = scanner.part()
  if (part.texts !== Number(scan.texts)) throw new Error(`read ${part.texts} texts of ${scan.texts}`)
  const bytes = shardPartToBytes(part)
  const sha256 = shardPartHash(bytes)
  await pool.query('INSERT INTO tokenmark_scan.parts (scan_id, shard_index, sha256, bytes, tokens_seen) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scan_id, shard_index) DO NOTHING', [
    job.scanId,
    job.index,
    sha256,
    Buffer.from(bytes),
    part.accumulator.tokensTotal,
  ])
  return { sha256, tokensSeen: part.accumulator.tokensTotal }
}

