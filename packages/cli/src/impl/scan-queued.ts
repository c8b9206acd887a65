/**
 * `scan --shards S --db URL`: the corpus streams into PostgreSQL block by block (corpus-blocks.ts: ~4 MiB of
 * JSON lines each, read by the rules of every command), and each block, once stored, is a `route` job in the
 * key's pg-boss queue, so `tokenmark worker`s (any machine that reaches the database and holds the key file)
 * tokenize while the rest of the corpus is still being read and uploaded; this process never holds the corpus.
 * Block 0, routed last, excludes the --prompts that no text took (which ones is known only at the end; the
 * reducers replay it first, as a local scan excludes them before any text). Then S `reduce` jobs (one shard
 * each; worker.ts). This process waits with a progress bar, merges the parts exactly as `tokenmark merge` does
 * and prints what a local scan prints, plus the parts' Merkle root.
 *
 * A bad corpus gets `scan`'s one-line error, in its order (the corpus's, then the prompts file's, the key's,
 * tokenizer's, filter's, the database's): once anything is wrong the rest is only checked, and a scan already
 * begun is withdrawn (its jobs cancelled, its rows deleted).
 */
import { randomUUID } from 'node:crypto'
import { CodedError, mergedResult, PART_HEAD } from '@tokenmark/core'
import type pg from 'pg'
import { BLOCK_BYTES, blockBytes, CorpusCheck, parseBlock, type BlockItem } from '../corpus-blocks.js'
import { PromptMatcher, readPromptsFile } from '../corpus.js'
import { CliError } from '../errors.js'
import { readFileBytes } from '../io.js'
import { loadFilter, loadKey, resolveTokenizer } from '../load.js'
import type { ScanOptions } from './scan.js'
import { openScanDb, queueName, type ShardJob } from '../jobs/schema.js'
import { dbReason, startBoss } from '../jobs/queue.js'
import { mergeHeads, mergeParts, printMerged } from './merge.js'
import { writePartFiles } from './part-file.js'

const TEXT_BATCH = 500
const POLL_MS = 250
/** Corpus bytes per route job: a second or two of a worker's routing, a fraction of a second to upload. */
const QUEUE_BLOCK_BYTES = 4 * BLOCK_BYTES

/** `f()`, or the one-line error it failed with (a CliError, or a coded error of core). */
function attempt<T>(f: () => T): T | CliError {
  try {
    return f()
  } catch (e) {
    if (e instanceof CliError) return e
    if (e instanceof CodedError) return new CliError(e.message)
    throw e
  }
}

export async function runQueued(paths: string[], o: ScanOptions): Promise<void> {
  const matcher = o.prompts === undefined ? undefined : attempt(() => new PromptMatcher(readPromptsFile(o.prompts as string)))
  const setup = attempt(() => {
    const key = loadKey(o.key)
    const tokenizer = resolveTokenizer(o.tokenizer, undefined) // checked here, named in the scan row
    if (o.filter !== undefined) loadFilter(o.filter)
    return { key, tokenizer, filterBytes: o.filter !== undefined ? readFileBytes(o.filter, 'emission filter') : null }
  })
  const count = o.shards as number
  let db: { pool: pg.Pool; boss: import('pg-boss') } | CliError | undefined
  if (!(matcher instanceof CliError) && !(setup instanceof CliError)) {
    try {
      db = { pool: await openScanDb(o.db as string), boss: await startBoss(o.db as string, { worker: false }) }
    } catch (e) {
      if (e instanceof CliError) db = e
      else db = new CliError(`cannot open the scan database: ${dbReason(e)}`)
    }
  }
  const live = db !== undefined && !(db instanceof CliError) && !(setup instanceof CliError) ? { ...db, ...setup, queue: queueName(setup.key.keyId), scanId: randomUUID() } : undefined
  const jobIds: string[] = []
  let started = false // the scan's row exists
  let streaming = true // until every block is stored and its route job sent
  try {
    const check = new CorpusCheck(paths, o.split)
    let texts = 0
    let blocks = 1 // block 0 is the prompts no text took
    let withPrompts = 0
    const send = async (job: ShardJob) => {
      const l = live as NonNullable<typeof live>
      // A worker killed mid-job leaves it active until it expires (--shard-timeout); then pg-boss's
      // maintenance (every 5 s in workers) retries it on another worker. Jobs store idempotently.
      const id = await l.boss.send(l.queue, job, { retryLimit: 5, retryDelay: 1, expireInSeconds: o.shardTimeout })
      if (id === null) throw new CliError(`could not enqueue ${job.phase} job ${job.index}`)
      jobIds.push(id)
    }
    let seq = 0
    for (const block of check.blocks(o.format, blockBytes(QUEUE_BLOCK_BYTES))) {
      const p = parseBlock(block)
      check.noteBlock(block.file, seq++, { ...p, texts: p.items.length })
      if (live === undefined || check.failing || p.items.length === 0) continue
      // --prompts by id, in corpus order (readCorpus's rule)
      const items = p.items.map((it) => {
        const prompt = it.prompt === undefined && matcher !== undefined ? (matcher as PromptMatcher).claim(it.id) : undefined
        return prompt === undefined ? it : { ...it, prompt }
      })
      withPrompts += items.reduce((a, it) => a + (it.prompt !== undefined ? 1 : 0), 0)
      if (!started) {
        await createScan(live.pool, live.scanId, o, { keyId: live.key.keyId, count, tokenizer: live.tokenizer?.name ?? null, filter: live.filterBytes })
        await live.boss.createQueue(live.queue)
        started = true
      }
      await uploadTexts(live.pool, live.scanId, texts, items)
      await send({ scanId: live.scanId, phase: 'route', index: blocks, count: 0, from: texts, to: texts + items.length })
      texts += items.length
      blocks++
    }
    const error = check.error() ?? (matcher instanceof CliError ? matcher : undefined) ?? (setup instanceof CliError ? setup : undefined) ?? (db instanceof CliError ? db : undefined)
    if (error !== undefined) throw error
    const l = live as NonNullable<typeof live>
    const globalPrompts = matcher === undefined ? [] : (matcher as PromptMatcher).rest()
    await l.pool.query('UPDATE tokenmark_scan.scans SET texts = $2, blocks = $3, prompts = $4 WHERE id = $1', [l.scanId, texts, blocks, JSON.stringify(globalPrompts)])
    await send({ scanId: l.scanId, phase: 'route', index: 0, count: 0, from: 0, to: 0 })
    streaming = false
    if (o.progress) process.stderr.write(`scan ${l.scanId}: ${texts} texts in ${blocks - 1} blocks (route jobs taken as they were stored), then ${count} reduce jobs on queue ${l.queue}; waiting for \`tokenmark worker\` processes\n`)
    await waitFor(l.pool, l.boss, l.queue, 'SELECT count(*) AS n FROM tokenmark_scan.blocks WHERE scan_id = $1', l.scanId, [...jobIds], 'blocks routed', o.progress)
    jobIds.length = 0
    for (let index = 0; index < count; index++) await send({ scanId: l.scanId, phase: 'reduce', index, count })
    await waitFor(l.pool, l.boss, l.queue, 'SELECT count(*) AS n FROM tokenmark_scan.parts WHERE scan_id = $1', l.scanId, [...jobIds], 'shards reduced', o.progress)
    // The merge needs only each part's 272-byte head; whole parts leave the database only for --parts-out.
    const whole = o.partsOut !== undefined
    const { rows } = await l.pool.query<{ shard_index: number; sha256: string; bytes: Buffer }>(
      `SELECT shard_index, sha256, ${whole ? 'bytes' : `substring(bytes from 1 for ${PART_HEAD}) AS bytes`} FROM tokenmark_scan.parts WHERE scan_id = $1 ORDER BY shard_index`,
      [l.scanId],
    )
    const parts = rows.map((r) => ({ bytes: new Uint8Array(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength), sha256: r.sha256 }))
    const r = mergedResult(whole ? mergeParts(l.key, parts.map((p) => p.bytes)) : mergeHeads(l.key, parts.map((p) => ({ head: p.bytes, sha256: p.sha256 }))), { alpha: o.alpha })
    if (whole) {
      if (r.shards.hashes.some((h, i) => h !== rows[i].sha256)) throw new CliError('a stored part does not match its SHA-256')
      writePartFiles(o.partsOut as string, parts)
    }
    if (r.texts !== texts) throw new CliError(`workers read ${r.texts} texts, the scan has ${texts}`)
    await l.pool.query('UPDATE tokenmark_scan.scans SET merkle_root = $2, result = $3 WHERE id = $1', [l.scanId, r.shards.merkleRoot, JSON.stringify(r)])
    printMerged(r, o.json === true, check.input(withPrompts, globalPrompts.length))
  } catch (e) {
    // A corpus found bad (or a database that failed) while streaming: nobody will merge what was stored.
    if (live !== undefined && started && streaming) await withdraw(live, jobIds)
    throw e
  } finally {
    if (db !== undefined && !(db instanceof CliError)) {
      await db.boss.stop({ graceful: false, wait: true }).catch(() => {})
      await db.pool.end().catch(() => {})
    }
  }
}

/** A scan that failed before its result: its jobs cancelled and its rows deleted, so that no worker spends time on it. */
async function withdraw(l: { pool: pg.Pool; boss: import('pg-boss'); queue: string; scanId: string }, jobIds: string[]): Promise<void> {
  await l.boss.cancel(l.queue, jobIds).catch(() => {})
  for (const table of ['routed', 'blocks', 'texts', 'parts']) await l.pool.query(`DELETE FROM tokenmark_scan.${table} WHERE scan_id = $1`, [l.scanId]).catch(() => {})
  await l.pool.query('DELETE FROM tokenmark_scan.scans WHERE id = $1', [l.scanId]).catch(() => {})
}

/** The scan's row, before its first texts (texts and blocks are set once the corpus has been read). */
async function createScan(pool: pg.Pool, scanId: string, o: ScanOptions, s: { keyId: string; count: number; tokenizer: string | null; filter: Uint8Array | null }): Promise<void> {
  try {
    await pool.query('INSERT INTO tokenmark_scan.scans (id, key_id, shard_count, blocks, tokenizer, normalize, prompts, filter, texts) VALUES ($1, $2, $3, 0, $4, $5, $6, $7, 0)', [
      scanId,
      s.keyId,
      s.count,
      s.tokenizer,
      o.normalize,
      '[]',
      s.filter === null ? null : Buffer.from(s.filter),
    ])
  } catch (e) {
    throw new CliError(`cannot store the corpus: ${dbReason(e)}`)
  }
}

/** One block's texts, numbered from `start` in reading order, in one transaction. */
async function uploadTexts(pool: pg.Pool, scanId: string, start: number, items: BlockItem[]): Promise<void> {
  const c = await pool.connect()
  try {
    await c.query('BEGIN')
    for (let i = 0; i < items.length; i += TEXT_BATCH) {
      const batch = items.slice(i, i + TEXT_BATCH)
      await c.query(
        'INSERT INTO tokenmark_scan.texts (scan_id, seq, text, prompt) SELECT $1, $2 + i - 1, t, p FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS u(t, p, i)',
        [scanId, start + i, batch.map((b) => b.text), batch.map((b) => b.prompt ?? null)],
      )
    }
    await c.query('COMMIT')
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {})
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
