// Issue 16's sharded-scan goals, side by side in one run on one corpus: one process (CorpusScanner) against
// S = 2 worker threads that route half the texts each (tokenize + PRF) and then reduce one shard each
// (exclusions + de-duplication), merged exactly (mergeShardParts). Results must be identical; throughput
// ratio ≥ 1.6; each shard's de-duplication table ≤ (1/S + 10 %) of the single process's. Also the fused
// form (each shard reads the whole corpus: `scan --shard i/S`) for comparison.
import { fork } from 'node:child_process'
import os from 'node:os'
import { CorpusScanner, getTokenizer, keyFromSecret, mergedResult, mergeShardParts } from '../packages/core/dist/index.js'
import { corpusPart } from '../packages/lab/dist/index.js'
import { fmt, printTable, row } from './lib.mjs'

const S = 2
const SECRET = Array(32).fill(16)
const PARAMS = { context: 3 }

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

/** A worker process (structured-clone IPC: typed arrays travel as such). */
function startWorker(paragraphs) {
  const w = fork(new URL('./shard-worker.mjs', import.meta.url), [], { serialization: 'advanced' })
  const queue = []
  w.on('message', (m) => queue.shift()?.(m))
  const next = () => new Promise((resolve) => queue.push(resolve))
  const ready = next()
  w.send({ paragraphs, secret: SECRET, params: PARAMS, count: S })
  return { ask: (msg) => (w.send(msg), next()), ready, stop: () => w.kill() }
}

function cpuSeconds(c0) {
  const d = process.cpuUsage(c0)
  return (d.user + d.system) / 1e6
}

export async function run() {
  const paragraphs = ['student', 'heldout', 'teacher'].flatMap((p) => corpusPart(p)).flatMap((c) => c.split(/\n\s*\n/)).filter((p) => p.trim() !== '')
  const key = keyFromSecret(new Uint8Array(SECRET), { scheme: 'kgw', params: PARAMS })
  const tk = getTokenizer('o200k_base')
  const workers = Array.from({ length: S }, () => startWorker(paragraphs))
  await Promise.all(workers.map((w) => w.ready))
  const t1 = []
  const tS = []
  const tF = []
  const c1 = [] // CPU seconds of the one process
  const cS = [] // CPU critical path of the two phases: slowest router + slowest reducer + the merge
  const cF = [] // slowest fused shard + the merge
  const routeRate = [] // tokens per CPU-second of one router (its block's tokens)
  const reduceRate = [] // routed tokens per CPU-second of one reducer (its shard's events)
  let eventBytes = 0
  let partBytes = 0
  let one
  let single
  let merged
  let shardInfo
  let fusedMerged
  for (let round = 0; round < 3; round++) {
    // one process
    let t0 = performance.now()
    let cpu0 = process.cpuUsage()
    single = new CorpusScanner(key, { tokenizer: tk })
    for (const p of paragraphs) single.add(p)
    one = single.result()
    t1.push((performance.now() - t0) / 1000)
    c1.push(cpuSeconds(cpu0))
    // two phases on S workers
    t0 = performance.now()
    const per = Math.ceil(paragraphs.length / S)
    const routed = await Promise.all(workers.map((w, j) => w.ask({ route: { from: j * per, to: Math.min(paragraphs.length, (j + 1) * per) } })))
    shardInfo = await Promise.all(workers.map((w, i) => w.ask({ reduce: { index: i, blocks: routed.map((r) => ({ events: r.events[i], counts: r.counts })) } })))
    cpu0 = process.cpuUsage()
    merged = mergedResult(mergeShardParts(key, shardInfo.map((s) => s.part)))
    tS.push((performance.now() - t0) / 1000)
    cS.push(Math.max(...routed.map((r) => r.cpu)) + Math.max(...shardInfo.map((s) => s.cpu)) + cpuSeconds(cpu0))
    for (const r of routed) routeRate.push(r.counts.tokensTotal / r.cpu)
    for (const sh of shardInfo) reduceRate.push(one.tokensTotal / S / sh.cpu)
    eventBytes = routed.reduce((a, r) => a + r.events.reduce((b, e) => b + e.byteLength, 0), 0)
    partBytes = shardInfo.reduce((a, sh) => a + sh.part.byteLength, 0)
    // fused: each shard reads everything
    t0 = performance.now()
    const fused = await Promise.all(workers.map((w, i) => w.ask({ fused: i })))
    cpu0 = process.cpuUsage()
    fusedMerged = mergedResult(mergeShardParts(key, fused.map((s) => s.part)))
    tF.push((performance.now() - t0) / 1000)
    cF.push(Math.max(...fused.map((s) => s.cpu)) + cpuSeconds(cpu0))
  }
  for (const w of workers) await w.stop()
  const { shards, ...rest } = merged
  const { shards: _f, ...restF } = fusedMerged
  const same = JSON.stringify(rest) === JSON.stringify(one) && JSON.stringify(restF) === JSON.stringify(one)
  const rate1 = one.tokensTotal / median(t1)
  const rateS = one.tokensTotal / median(tS)
  const rateF = one.tokensTotal / median(tF)
  // On an idle machine with a core per worker, wall time is the CPU critical path (plus IPC); on a shared
  // one the wall clock mostly measures the neighbours, so both are printed.
  const cpu1 = one.tokensTotal / median(c1)
  const cpuS = one.tokensTotal / median(cS)
  const cpuF = one.tokensTotal / median(cF)
  const seen = single.accumulator.seen
  const maxTable = Math.max(...shardInfo.map((s) => s.tableBytes))
  const maxTuples = Math.max(...shardInfo.map((s) => s.tuples))
  const memGoal = 1 / S + 0.1
  const out = [
    row(`corpus: Moby-Dick paragraphs, kgw h=3, ${fmt(one.tokensTotal)} tokens, ${fmt(seen.size)} distinct scored tuples`, `${paragraphs.length} texts`),
    row('one process (CorpusScanner): tokens/s wall / per CPU-second', `${fmt(rate1)} / ${fmt(cpu1)}`),
    row(`${S} workers, route by texts then reduce by shard: tokens/s on the CPU critical path (ratio to one process)`, `${fmt(cpuS)} (${fmt(cpuS / cpu1)}×)`, '≥ 1.6×', cpuS / cpu1 >= 1.6),
    row(`${S} workers, route then reduce: tokens/s wall clock (ratio)`, `${fmt(rateS)} (${fmt(rateS / rate1)}×)`),
    row(`${S} workers, each reading the whole corpus (scan --shard i/S): critical path / wall (ratios)`, `${fmt(cpuF / cpu1)}× / ${fmt(rateF / rate1)}×`),
    row('merged result identical to one process (every field, log10 p bit for bit)', same ? 'yes' : 'NO', 'identical', same),
    row(`largest shard's de-dup table / one process's (${fmt(maxTable)} / ${fmt(seen.byteLength)} bytes)`, fmt(maxTable / seen.byteLength), `≤ ${fmt(memGoal)}`, maxTable / seen.byteLength <= memGoal),
    row(`largest shard's distinct tuples / one process's (${fmt(maxTuples)} / ${fmt(seen.size)})`, fmt(maxTuples / seen.size), `≤ ${fmt(memGoal)}`, maxTuples / seen.size <= memGoal),
    row('per worker: route (normalise + tokenize + PRF), tokens per CPU-second', fmt(median(routeRate))),
    row('per worker: reduce (exclusions + de-dup + observations), routed tokens per CPU-second', fmt(median(reduceRate))),
    row('routed events, bytes per token seen / shard parts, bytes per distinct scored tuple', `${fmt(eventBytes / one.tokensTotal)} / ${fmt(partBytes / seen.size)}`),
  ]
  printTable(`sharded scans (issue 16): one process vs ${S} worker processes, medians of 3 rounds (load average ${os.loadavg()[0].toFixed(1)})`, out)
  return { rate1, rateS, rateF, cpu1, cpuS, cpuF, same }
}
