/**
 * What `tokenmark worker` does: takes jobs from its key's pg-boss queue. A scan runs in two phases
 * (docs/spec.md#shards): `route` jobs tokenize one block of the texts each and store every shard's tuple
 * events; `reduce` jobs replay one shard's events from every block and store its part with its SHA-256.
 * So tokenization is split by texts and de-duplication by tuples, each done once in total. Storing is
 * idempotent (one row per block, one part per shard), so a job retried after a worker died is harmless.
 */
import { EmissionFilter, getTokenizer, prepareKey, routerSettings, ShardReducer, shardPartHash, shardPartToBytes, TupleRouter, type WatermarkKey } from '@tokenmark/core'
import type pg from 'pg'
import { CliError } from '../errors.js'
import { partHashing } from '../hash.js'
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
      const what = job.data.phase === 'route' ? await routeBlock(pool, key, job.data) : await reduceShardJob(pool, key, job.data)
      const d = job.data
      const which = d.from !== undefined ? `block ${d.index} (texts ${d.from}..${d.to})` : `${d.index}/${d.count}`
      process.stderr.write(`worker: scan ${d.scanId} ${d.phase} ${which}: ${what} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
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

function scanOptions(key: WatermarkKey, scan: ScanRow) {
  return {
    tokenizer: getTokenizer(scan.tokenizer ?? key.config.tokenizer),
    normalize: scan.normalize,
    filter: scan.filter === null ? undefined : EmissionFilter.fromBytes(new Uint8Array(scan.filter)),
  }
}

async function loadScan(pool: pg.Pool, key: WatermarkKey, job: ShardJob): Promise<ScanRow> {
  const { rows } = await pool.query<ScanRow>('SELECT * FROM tokenmark_scan.scans WHERE id = $1', [job.scanId])
  const scan = rows[0]
  if (scan === undefined) throw new Error(`scan ${job.scanId} not found`)
  if (scan.key_id !== key.keyId) throw new Error(`scan ${job.scanId} is for another key`)
  const expected = job.phase === 'route' ? scan.blocks : scan.shard_count
  if (job.from === undefined && expected !== job.count) throw new Error(`scan ${job.scanId} has ${expected} ${job.phase === 'route' ? 'blocks' : 'shards'}, not ${job.count}`)
  return scan
}

/** Phase 1: block `index` of the texts, tokenized and routed; every shard's events and the block's counts in one commit. */
async function routeBlock(pool: pg.Pool, key: WatermarkKey, job: ShardJob): Promise<string> {
  const done = await pool.query('SELECT 1 FROM tokenmark_scan.blocks WHERE scan_id = $1 AND block = $2', [job.scanId, job.index])
  if (done.rows.length > 0) return 'already routed'
  const scan = await loadScan(pool, key, job)
  const o = scanOptions(key, scan)
  const total = Number(scan.texts)
  const per = Math.ceil(total / job.count)
  const from = job.from ?? job.index * per
  const router = new TupleRouter(prepareKey(key), scan.shard_count, { ...o, firstText: from, hashing: partHashing })
  if (job.index === 0) for (const p of scan.prompts) router.excludePrompt(p)
  const to = job.to ?? Math.min(total, from + per)
  for (let after = from - 1; after < to - 1; ) {
    const batch = await pool.query<{ seq: string; text: string; prompt: string | null }>('SELECT seq, text, prompt FROM tokenmark_scan.texts WHERE scan_id = $1 AND seq > $2 AND seq < $3 ORDER BY seq LIMIT $4', [job.scanId, after, to, READ_BATCH])
    if (batch.rows.length === 0) throw new Error(`texts ${after + 1}..${to - 1} are missing`)
    for (const r of batch.rows) router.add(r.text, r.prompt ?? undefined)
    after = Number(batch.rows[batch.rows.length - 1].seq)
  }
  const c = await pool.connect()
  try {
    await c.query('BEGIN')
    const ins = await c.query('INSERT INTO tokenmark_scan.blocks (scan_id, block, texts, tokens_total, no_context, corpus) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING', [
      job.scanId,
      job.index,
      router.counts.texts,
      router.counts.tokensTotal,
      router.counts.noContext,
      Buffer.from(router.corpus.bytes()),
    ])
    if (ins.rowCount === 1) {
      for (let s = 0; s < scan.shard_count; s++) {
        const ev = router.take(s)
        await c.query('INSERT INTO tokenmark_scan.routed (scan_id, block, shard_index, events) VALUES ($1, $2, $3, $4)', [job.scanId, job.index, s, Buffer.from(ev.buffer, ev.byteOffset, ev.byteLength)])
      }
    }
    await c.query('COMMIT')
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {})
    throw e
  } finally {
    c.release()
  }
  return `${router.counts.tokensTotal} tokens routed`
}

/** Phase 2: shard `index`'s events from every block, in block order, replayed; the part stored with its SHA-256. */
async function reduceShardJob(pool: pg.Pool, key: WatermarkKey, job: ShardJob): Promise<string> {
  const done = await pool.query<{ sha256: string }>('SELECT sha256 FROM tokenmark_scan.parts WHERE scan_id = $1 AND shard_index = $2', [job.scanId, job.index])
  if (done.rows.length > 0) return `part ${done.rows[0].sha256}`
  const scan = await loadScan(pool, key, job)
  const o = scanOptions(key, scan)
  const settings = routerSettings(o) // what this scan's routers read with
  // Block by block in corpus order: memory is the shard's de-duplication set and one block's events.
  const reducer = new ShardReducer(key, { index: job.index, count: job.count }, { filter: scan.filter !== null, settings })
  for (let b = 0; b < scan.blocks; b++) {
    const { rows } = await pool.query<{ texts: string; tokens_total: string; no_context: string; corpus: Buffer | null; events: Buffer }>(
      'SELECT b.texts, b.tokens_total, b.no_context, b.corpus, r.events FROM tokenmark_scan.blocks b JOIN tokenmark_scan.routed r USING (scan_id, block) WHERE b.scan_id = $1 AND b.block = $2 AND r.shard_index = $3',
      [job.scanId, b, job.index],
    )
    if (rows.length === 0) throw new Error(`block ${b} is not routed yet`)
    const r = rows[0]
    if (r.corpus === null) throw new Error(`block ${b} was routed by an older tokenmark worker (no corpus digest); run the scan again`)
    const events = new Uint32Array(r.events.byteLength / 4) // little-endian u32 (docs/spec.md#shards), copied to align
    new Uint8Array(events.buffer).set(r.events)
    reducer.add({ events, counts: { texts: Number(r.texts), tokensTotal: Number(r.tokens_total), noContext: Number(r.no_context) }, corpus: new Uint8Array(r.corpus) })
  }
  const part = reducer.part()
  if (part.texts !== Number(scan.texts)) throw new Error(`blocks hold ${part.texts} texts of ${scan.texts}`)
  const bytes = shardPartToBytes(part, partHashing)
  const sha256 = shardPartHash(bytes, partHashing)
  await pool.query('INSERT INTO tokenmark_scan.parts (scan_id, shard_index, sha256, bytes, tokens_seen) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scan_id, shard_index) DO NOTHING', [
    job.scanId,
    job.index,
    sha256,
    Buffer.from(bytes),
    part.accumulator.tokensTotal,
  ])
  return `${part.accumulator.tokensScored} tuples scored, part ${sha256}`
}
