// Issue 16's sharded-scan goals, side by side in one run on one corpus: one process (CorpusScanner, what
// `tokenmark scan` runs) against S = 2 worker threads making the core calls of `scan --workers 2`'s threads
// and of the queue's `tokenmark worker`s (bench/shard-worker.mjs): each routes half the texts (normalise, tokenize, PRF) into
// per-shard event blocks, the blocks are exchanged (transferred, not copied), each reduces one shard
// (exclusions, de-duplication) into a `.tmacc` part, and the parts' summaries are merged (no tuple read).
// The queue moves the same blocks through PostgreSQL instead. bench/shard-cli.mjs then runs the built CLI. Results must be identical; throughput ratio
// ≥ 1.6; each shard's de-duplication table ≤ (1/S + 10 %) of the single process's. Also the fused form
// (each shard reads the whole corpus: `scan --shard i/S` by hand).
//
// Every phase is clocked in CPU seconds of its own thread (bench/lib.mjs threadCpuSeconds): with a core
// per worker and nothing else running, wall time is the CPU critical path (plus the exchange); on a shared
// machine the wall clock mostly measures the neighbours, so both are printed. Re-run on a quiet machine
// with `npm run bench -- shard` (SHARD_BENCH_COPIES=n changes the corpus size, 64 by default: 15 M tokens, 64 MiB —
// a scan this toolkit is for is 10⁸–10¹⁰ tokens, and below ~10⁷ a process's fixed costs (start, compiling core,
// the tokenizer's tables: ~0.45 s per thread) weigh on the ratio; SHARD_BENCH_CLI=0 skips the
// table of the CLI as a user runs it, bench/shard-cli.mjs; SHARD_BENCH_CORE=0 runs that table alone;
// SHARD_BENCH_ROUNDS=n sets its rounds; SHARD_BENCH_QUEUE=0 skips its queue rows).
import os from 'node:os'
import { Worker } from 'node:worker_threads'
import { CorpusScanner, getTokenizer, keyFromSecret, mergedResult, mergeShardParts } from '../packages/core/dist/index.js'
import { corpusPart } from '../packages/lab/dist/index.js'
import { partHashing } from '../packages/cli/dist/hash.js'
import { fmt, printTable, row, threadCpuSeconds } from './lib.mjs'
import { runCli } from './shard-cli.mjs'

const S = 2
const SECRET = Array(32).fill(16)
const PARAMS = { context: 3 }
const COPIES = Number(process.env.SHARD_BENCH_COPIES ?? 64)

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

/**
 * Moby-Dick's paragraphs, then COPIES − 1 re-orderings of each paragraph's words (seeded): real words and
 * tokenizer work, but mostly new (context, token) tuples, so the corpus is ~COPIES× the book and its
 * de-duplication set grows with it, as a large scan's does.
 */
function benchCorpus() {
  const paragraphs = ['student', 'heldout', 'teacher'].flatMap((p) => corpusPart(p)).flatMap((c) => c.split(/\n\s*\n/)).filter((p) => p.trim() !== '')
  const out = [...paragraphs]
  let x = 16
  const rand = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0), x / 2 ** 32)
  for (let c = 1; c < COPIES; c++)
    for (const p of paragraphs) {
      const w = p.split(/\s+/)
      for (let i = w.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1))
        ;[w[i], w[j]] = [w[j], w[i]]
      }
      out.push(w.join(' '))
    }
  return { texts: out, paragraphs: paragraphs.length }
}

function startWorker(texts) {
  const w = new Worker(new URL('./shard-worker.mjs', import.meta.url), { workerData: { texts, secret: SECRET, params: PARAMS, count: S } })
  const queue = []
  w.on('message', (m) => queue.shift()?.(m))
  const next = () => new Promise((resolve) => queue.push(resolve))
  const ready = next()
  return { ask: (msg, transfer) => (w.postMessage(msg, transfer), next()), ready, stop: () => w.terminate() }
}

export async function run() {
  const { texts, paragraphs } = benchCorpus()
  const key = keyFromSecret(new Uint8Array(SECRET), { scheme: 'kgw', params: PARAMS })
  if (process.env.SHARD_BENCH_CORE === '0') return { cli: await runCli(texts, key) } // the CLI's table alone
  const tk = getTokenizer('o200k_base')
  const workers = Array.from({ length: S }, () => startWorker(texts))
  await Promise.all(workers.map((w) => w.ready))
  const m = { wall1: [], fold1: [], result1: [], wallS: [], route: [], reduce: [], merge: [], resultS: [], wallF: [], fused: [] }
  let eventBytes = 0
  let one, single, merged, shardInfo, fusedMerged
  for (let round = 0; round < 3; round++) {
    // one process: the local scan (fold every text, then the result)
    let t0 = performance.now()
    let c0 = threadCpuSeconds()
    single = new CorpusScanner(key, { tokenizer: tk })
    for (const t of texts) single.add(t)
    m.fold1.push(threadCpuSeconds() - c0)
    c0 = threadCpuSeconds()
    one = single.result()
    m.result1.push(threadCpuSeconds() - c0)
    m.wall1.push((performance.now() - t0) / 1000)
    // S workers: route by texts, exchange blocks, reduce by shard, merge summaries, result
    t0 = performance.now()
    const per = Math.ceil(texts.length / S)
    const routed = await Promise.all(workers.map((w, j) => w.ask({ route: { from: j * per, to: Math.min(texts.length, (j + 1) * per) } })))
    eventBytes = routed.reduce((a, r) => a + r.events.reduce((b, e) => b + e.byteLength, 0), 0)
    shardInfo = await Promise.all(
      workers.map((w, i) => {
        const blocks = routed.map((r) => ({ events: r.events[i], counts: r.counts, corpus: r.corpus }))
        return w.ask({ reduce: { index: i, blocks, settings: routed[0].settings } }, blocks.map((b) => b.events.buffer))
      }),
    )
    c0 = threadCpuSeconds()
    const parts = mergeShardParts(key, shardInfo.map((s) => s.part), partHashing)
    m.merge.push(threadCpuSeconds() - c0)
    c0 = threadCpuSeconds()
    merged = mergedResult(parts)
    m.resultS.push(threadCpuSeconds() - c0)
    m.wallS.push((performance.now() - t0) / 1000)
    m.route.push(Math.max(...routed.map((r) => r.cpu)))
    m.reduce.push(Math.max(...shardInfo.map((s) => s.cpu)))
    // fused: each shard reads everything
    t0 = performance.now()
    const fused = await Promise.all(workers.map((w, i) => w.ask({ fused: i })))
    fusedMerged = mergedResult(mergeShardParts(key, fused.map((s) => s.part), partHashing))
    m.wallF.push((performance.now() - t0) / 1000)
    m.fused.push(Math.max(...fused.map((s) => s.cpu)))
  }
  await Promise.all(workers.map((w) => w.stop()))
  const { shards, ...rest } = merged
  const { shards: _f, ...restF } = fusedMerged
  const same = JSON.stringify(rest) === JSON.stringify(one) && JSON.stringify(restF) === JSON.stringify(one)
  const N = one.tokensTotal
  const med = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, median(v)]))
  // The result (p-value, e-value, tokens needed) is computed once from the merged counts on either side:
  // a fixed cost per scan, not per token (here ~0.2 s: tokensNeeded's exact-tail search is long when the
  // effect is tiny, as in this unmarked corpus).
  const cpu1 = med.fold1 + med.result1
  const cpuS = med.route + med.reduce + med.merge + med.resultS
  const workS = med.route + med.reduce + med.merge
  const cpuF = med.fused + med.merge + med.resultS
  const ms = (s) => `${fmt(s * 1000)} ms`
  const seen = single.accumulator.seen
  const maxTable = Math.max(...shardInfo.map((s) => s.tableBytes))
  const maxTuples = Math.max(...shardInfo.map((s) => s.tuples))
  const memGoal = 1 / S + 0.1
  const out = [
    row(`corpus: Moby-Dick paragraphs + ${COPIES - 1} seeded word re-orderings of each (SHARD_BENCH_COPIES=${COPIES}), kgw h=3: ${fmt(N)} tokens, ${fmt(seen.size)} distinct scored tuples`, `${texts.length} texts (${paragraphs} per copy)`),
    row('one process (CorpusScanner, `scan`): fold every text / compute the result, CPU', `${ms(med.fold1)} / ${ms(med.result1)}`),
    row(`${S} workers (the core calls of \`scan --workers ${S}\` and the queue's workers): route (slowest) / reduce (slowest) / merge summaries / result, CPU`, `${ms(med.route)} / ${ms(med.reduce)} / ${ms(med.merge)} / ${ms(med.resultS)}`),
    row(`${S} workers: tokens/s on the CPU critical path, result included (ratio to one process)`, `${fmt(N / cpuS)} (${fmt(cpu1 / cpuS)}×)`, '≥ 1.6×', cpu1 / cpuS >= 1.6),
    row(`${S} workers: per-token work only (fold vs route + reduce + merge; the result is one fixed cost either way)`, `${fmt(N / workS)} vs ${fmt(N / med.fold1)} tokens/s (${fmt(med.fold1 / workS)}×)`),
    row(`${S} workers: tokens/s wall clock (ratio; under load this measures the neighbours)`, `${fmt(N / med.wallS)} (${fmt(med.wall1 / med.wallS)}×)`),
    row(`${S} workers each reading the whole corpus (\`scan --shard i/S\` + merge): critical path / wall (ratios)`, `${fmt(cpu1 / cpuF)}× / ${fmt(med.wall1 / med.wallF)}×`),
    row('merged result identical to one process (every field, log10 p bit for bit)', same ? 'yes' : 'NO', 'identical', same),
    row(`largest shard's de-dup table / one process's (${fmt(maxTable)} / ${fmt(seen.byteLength)} bytes)`, fmt(maxTable / seen.byteLength), `≤ ${fmt(memGoal)}`, maxTable / seen.byteLength <= memGoal),
    row(`largest shard's distinct tuples / one process's (${fmt(maxTuples)} / ${fmt(seen.size)})`, fmt(maxTuples / seen.size), `≤ ${fmt(memGoal)}`, maxTuples / seen.size <= memGoal),
    row('per worker: route, tokens per CPU-second / reduce, routed tokens per CPU-second', `${fmt(N / S / med.route)} / ${fmt(N / S / med.reduce)}`),
    row('exchanged events, bytes per token seen / merge reads, bytes per part (head + SHA-256 pass over the tuples)', `${fmt(eventBytes / N)} / ${fmt(median(shardInfo.map((s) => s.part.byteLength)))}`),
  ]
  printTable(`sharded scans (issue 16): one process vs ${S} worker threads, medians of 3 rounds (load average ${os.loadavg()[0].toFixed(1)}; re-run: npm run bench -- shard)`, out)
  const cli = process.env.SHARD_BENCH_CLI === '0' ? undefined : await runCli(texts, key)
  return { cpu1, cpuS, same, cli }
}
