// One worker process of bench/shard.mjs: routes a block of texts for every shard (phase 1), then reduces its shard
// from every block's events (phase 2). Messages: {route: {from, to}} → {events: Uint32Array[], counts};
// {reduce: {index, blocks}} → {part: Uint8Array, tuples, tableBytes}; {fused: index} → the same for a
// shard that reads the whole corpus itself (ShardScanner).
import { getTokenizer, keyFromSecret, prepareKey, reduceShard, ShardScanner, shardPartToBytes, TupleRouter } from '../packages/core/dist/index.js'

const parentPort = { on: (ev, fn) => process.on(ev, fn), postMessage: (m) => process.send(m) }
const { paragraphs, secret, params, count } = await new Promise((resolve) => process.once('message', resolve))
const key = keyFromSecret(new Uint8Array(secret), { scheme: 'kgw', params })
const tk = getTokenizer('o200k_base')
tk.encode('warm up the tokenizer')

// Each reply carries the CPU seconds this process spent on the task: on a shared machine the wall clock
// measures the neighbours, CPU time measures the work.
parentPort.on('message', (m) => {
  const c0 = process.cpuUsage()
  const cpu = () => {
    const d = process.cpuUsage(c0)
    return (d.user + d.system) / 1e6
  }
  if (m.route) {
    const r = new TupleRouter(prepareKey(key), count, { tokenizer: tk })
    for (let i = m.route.from; i < m.route.to; i++) r.add(paragraphs[i])
    const events = Array.from({ length: count }, (_, s) => r.take(s))
    parentPort.postMessage({ events, counts: r.counts, cpu: cpu() })
  } else if (m.reduce) {
    const part = reduceShard(key, { index: m.reduce.index, count }, m.reduce.blocks)
    reply(part, cpu)
  } else if (m.fused !== undefined) {
    const sc = new ShardScanner(key, { index: m.fused, count }, { tokenizer: tk })
    for (const p of paragraphs) sc.add(p)
    reply(sc.part(), cpu)
  }
})

function reply(part, cpu) {
  const seen = part.accumulator.seen
  const bytes = shardPartToBytes(part)
  parentPort.postMessage({ part: bytes, tuples: seen.size, tableBytes: seen.byteLength, cpu: cpu() })
}
parentPort.postMessage({ ready: true })
