/**
 * `scan --shards S --db URL`: the corpus goes into PostgreSQL; S `route` jobs (one block of texts each),
 * then S `reduce` jobs (one shard each) go into the key's pg-boss queue; `tokenmark worker`s (any machine
 * that reaches the database and holds the key file) run them (worker.ts). This process waits with a
 * progress bar, merges the parts exactly as `tokenmark merge` does and prints what a local scan prints,
 * plus the parts' Merkle root.
 */
import { randomUUID } from 'node:crypto'
import { mergedResult, PART_HEAD } from '@tokenmark/core'
import type pg from 'pg'
import { CliError } from '../errors.js'
import { readFileBytes } from '../io.js'
import type { Corpus } from '../corpus.js'
import { loadFilter, loadKey, resolveTokenizer } from '../load.js'
import type { ScanOptions } from './scan.js'
import { openScanDb, queueName, type ShardJob } from '../jobs/schema.js'
import { dbReason, startBoss } from '../jobs/queue.js'
import { mergeHeads, mergeParts, printMerged } from './merge.js'
import { writePartFiles } from './part-file.js'

const TEXT_BATCH = 500
const POLL_MS = 250

export async function runQueued(corpus: Corpus, o: ScanOptions): Promise<void> {
  const key = loadKey(o.key)
  const tokenizer = resolveTokenizer(o.tokenizer, undefined) // checked here, named in the scan row
  if (o.filter !== undefined) loadFilter(o.filter)
  const filterBytes = o.filter !== undefined ? readFileBytes(o.filter, 'emission filter') : null
  const prompts = corpus.prompts
  const count = o.shards as number
  let pool: pg.Pool
  try {
    pool = await openScanDb(o.db as string)
  } catch (e) {
    throw new CliError(`cannot open the scan database: ${dbReason(e)}`)
  }
  const boss = await startBoss(o.db as string, { worker: false })
  try {
    const scanId = randomUUID()
    const texts = await upload(pool, scanId, corpus, o, { keyId: key.keyId, count, tokenizer: tokenizer?.name ?? null, prompts, filter: filterBytes })
    const queue = queueName(key.keyId)
    await boss.createQueue(queue)
    const enqueue = async (phase: ShardJob['phase']) => {
      const ids: string[] = []
      for (let index = 0; index < count; index++) {
        // A worker killed mid-job leaves it active until it expires (--shard-timeout); then pg-boss's
        // maintenance (every 5 s in workers) retries it on another worker. Jobs store idempotently.
        const id = await boss.send(queue, { scanId, phase, index, count } satisfies ShardJob, { retryLimit: 5, retryDelay: 1, expireInSeconds: o.shardTimeout })
        if (id === null) throw new CliError(`could not enqueue ${phase} job ${index}/${count}`)
        ids.push(id)
      }
      return ids
    }
    if (o.progress) process.stderr.write(`scan ${scanId}: ${texts} texts, ${count} route then ${count} reduce jobs on queue ${queue}; waiting for \`tokenmark worker\` processes\n`)
    await waitFor(pool, boss, queue, 'SELECT count(*) AS n FROM tokenmark_scan.blocks WHERE scan_id = $1', scanId, await enqueue('route'), 'blocks routed', o.progress)
    await waitFor(pool, boss, queue, 'SELECT count(*) AS n FROM tokenmark_scan.parts WHERE scan_id = $1', scanId, await enqueue('reduce'), 'shards reduced', o.progress)
    // The merge needs only each part's 272-byte head; whole parts leave the database only for --parts-out.
    const whole = o.partsOut !== undefined
    const { rows } = await pool.query<{ shard_index: number; sha256: string; bytes: Buffer }>(
      `SELECT shard_index, sha256, ${whole ? 'bytes' : `substring(bytes from 1 for ${PART_HEAD}) AS bytes`} FROM tokenmark_scan.parts WHERE scan_id = $1 ORDER BY shard_index`,
      [scanId],
    )
    const parts = rows.map((r) => ({ bytes: new Uint8Array(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength), sha256: r.sha256 }))
    const r = mergedResult(whole ? mergeParts(key, parts.map((p) => p.bytes)) : mergeHeads(key, parts.map((p) => ({ head: p.bytes, sha256: p.sha256 }))), { alpha: o.alpha })
    if (whole) {
      if (r.shards.hashes.some((h, i) => h !== rows[i].sha256)) throw new CliError('a stored part does not match its SHA-256')
      writePartFiles(o.partsOut as string, parts)
    }
    if (r.texts !== texts) throw new CliError(`workers read ${r.texts} texts, the scan has ${texts}`)
    await pool.query('UPDATE tokenmark_scan.scans SET merkle_root = $2, result = $3 WHERE id = $1', [scanId, r.shards.merkleRoot, JSON.stringify(r)])
    printMerged(r, o.json === true, corpus.input)
  } finally {
    await boss.stop({ graceful: false, wait: true }).catch(() => {})
    await pool.end().catch(() => {})
  }
}

/** Stores the scan row and its texts in reading order; returns the number of texts. */
async function upload(
  pool: pg.Pool,
  scanId: string,
  corpus: Corpus,
  o: ScanOptions,
  s: { keyId: string; count: number; tokenizer: string | null; prompts: string[]; filter: Uint8Array | null },
): Promise<number> {
  const c = await pool.connect()
  try {
    await c.query('BEGIN')
    await c.query('INSERT INTO tokenmark_scan.scans (id, key_id, shard_count, blocks, tokenizer, normalize, prompts, filter, texts) VALUES ($1, $2, $3, $3, $4, $5, $6, $7, 0)', [
      scanId,
      s.keyId,
      s.count,
      s.tokenizer,
      o.normalize,
      JSON.stringify(s.prompts),
      s.filter === null ? null : Buffer.from(s.filter),
    ])
    let seq = 0
    let batch: { text: string; prompt: string | null }[] = []
    const flush = async () => {
      if (batch.length === 0) return
      const start = seq - batch.length
      await c.query(
        'INSERT INTO tokenmark_scan.texts (scan_id, seq, text, prompt) SELECT $1, $2 + i - 1, t, p FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS u(t, p, i)',
        [scanId, start, batch.map((b) => b.text), batch.map((b) => b.prompt)],
      )
      batch = []
    }
    // The corpus as the local scan reads it (cli/corpus.ts): the same texts, prompts and split.
    for (const it of corpus.items) {
      batch.push({ text: it.text, prompt: it.prompt ?? null })
      seq++
      if (batch.length >= TEXT_BATCH) await flush()
    }
    await flush()
    await c.query('UPDATE tokenmark_scan.scans SET texts = $2 WHERE id = $1', [scanId, seq])
    await c.query('COMMIT')
    return seq
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {})
    if (e instanceof CliError) throw e
    throw new CliError(`cannot store the corpus: ${dbReason(e)}`)
  } finally {
    c.release()
  }
}

/** Polls until `countSql` reaches the number of jobs, drawing `[####....] k/S <what>` on a terminal; fails when a job has failed for good. */
async function waitFor(pool: pg.Pool, boss: import('pg-boss'), queue: string, countSql: string, scanId: string, jobIds: string[], what: string, progress: boolean): Promise<void> {
  const count = jobIds.length
  const tty = progress && process.stderr.isTTY === true
  let polls = 0
  for (;;) {
    const { rows } = await pool.query<{ n: string }>(countSql, [scanId])
    const done = Number(rows[0].n)
    if (tty) {
      const fill = Math.round((30 * done) / count)
      process.stderr.write(`\r[${'#'.repeat(fill)}${'.'.repeat(30 - fill)}] ${done}/${count} ${what}`)
    }
    if (done === count) {
      if (tty) process.stderr.write('\n')
      return
    }
    if (++polls % 8 === 0) {
      for (let i = 0; i < count; i++) {
        const job = await boss.getJobById(queue, jobIds[i])
        if (job?.state === 'failed') {
          const out = job.output as { message?: string } | undefined
          throw new CliError(`job ${i}/${count} (${what}) failed in a worker: ${out?.message ?? 'no reason given'}`)
        }
      }
    }
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
}
