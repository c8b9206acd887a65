// One worker thread of bench/shard.mjs, making the core calls a `scan --workers` thread makes
// (packages/cli/src/impl/scan-thread.ts) and a `tokenmark worker` makes for a queued scan (worker.ts):
// TupleRouter for a route job, reduceShard + shardPartToBytes for a reduce job; here each phase is also
// clocked in the thread's own CPU time. Messages:
//   {route: {from, to}} → {events: Uint32Array[] (one per shard, transferred), counts, corpus, settings, cpu}
//   {reduce: {index, blocks}} → {part: Uint8Array (transferred), tuples, tableBytes, cpu}
//   {fused: index} → the same for a shard that reads the whole corpus itself (`scan --shard i/S`: ShardScanner).
import { createHash } from 'node:crypto'
import { parentPort, workerData } from 'node:worker_threads'
import { getTokenizer, keyFromSecret, prepareKey, reduceShard, ShardScanner, shardPartToBytes, TupleRouter } from '../packages/core/dist/index.js'
import { threadCpuSeconds as threadCpu } from './lib.mjs'

const hashing = { sha256: (b) => createHash('sha256').update(b).digest() } // as the CLI's (packages/cli/src/hash.ts)
const { texts, secret, params, count } = workerData
const key = keyFromSecret(new Uint8Array(secret), { scheme: 'kgw', params })
const tk = getTokenizer('o200k_base')
tk.encode('warm up the tokenizer')

// Each reply carries the CPU seconds this thread spent on the task: on a shared machine the wall clock
// measures the neighbours, CPU time measures the work.

parentPort.on('message', (m) => {
  const c0 = threadCpu()
  if (m.route) {
    const r = new TupleRouter(prepareKey(key), count, { tokenizer: tk, firstText: m.route.from })
    for (let i = m.route.from; i < m.route.to; i++) r.add(texts[i])
    const events = Array.from({ length: count }, (_, s) => r.take(s))
    const corpus = r.corpus.bytes()
    parentPort.postMessage({ events, counts: r.counts, corpus, settings: r.settings(), cpu: threadCpu() - c0 }, events.map((e) => e.buffer))
  } else if (m.reduce) {
    const part = reduceShard(key, { index: m.reduce.index, count }, m.reduce.blocks, { settings: m.reduce.settings })
    reply(part, c0)
  } else if (m.fused !== undefined) {
    const sc = new ShardScanner(key, { index: m.fused, count }, { tokenizer: tk })
    for (const t of texts) sc.add(t)
    reply(sc.part(), c0)
  }
})

function reply(part, c0) {
  const seen = part.accumulator.seen
  const bytes = shardPartToBytes(part, hashing)
  parentPort.postMessage({ part: bytes, tuples: seen.size, tableBytes: seen.byteLength, cpu: threadCpu() - c0 }, [bytes.buffer])
}
parentPort.postMessage({ ready: true })
