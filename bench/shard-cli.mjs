// What a user runs, end to end, on one corpus: `tokenmark scan` (one process) against `tokenmark scan
// --workers 2` (two threads of one process: scan-threads.ts) and `tokenmark scan --shards 2 --db` with two
// `tokenmark worker` processes on a throw-away PostgreSQL (scripts/pg-cluster.mjs, fsync off: a scan's tables
// are transient; the same cluster the tests use). The built CLI is spawned as a user would; the results must
// be identical. Wall clock is what the user waits for (on a shared machine it measures the neighbours too);
// CPU seconds per process (from /usr/bin/time; the workers' from /proc/<pid>/stat) say where the work went.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { postgresBin, startCluster } from '../scripts/pg-cluster.mjs'
import { fmt, printTable, row } from './lib.mjs'

const BIN = fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url))

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

/** CPU seconds a live process has used (all its threads): /proc/<pid>/stat utime + stime, 1/100 s ticks. */
function processCpu(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}

/** Runs the CLI under /usr/bin/time: { out, err, wall, cpu, rss (MB) }. */
function timed(args, env = {}) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', process.execPath, BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, ...env } })
  if (r.status !== 0) throw new Error(`tokenmark ${args[0]} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`)
  const [wall, user, sys, rss] = r.stderr.trim().split('\n').pop().split(' ').map(Number)
  return { out: r.stdout, err: r.stderr, wall, cpu: user + sys, rss: rss / 1024 }
}

function startWorker(url, keyFile) {
  const w = spawn(process.execPath, [BIN, 'worker', '--db', url, '--key', keyFile], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  const ready = new Promise((resolve, reject) => {
    w.stderr.on('data', (d) => {
      err += d
      if (err.includes('taking shard jobs')) resolve()
    })
    w.once('exit', (code) => reject(new Error(`worker exited (${code}): ${err.trim().split('\n').pop()}`)))
    setTimeout(() => reject(new Error(`worker not ready after 60 s: ${err.trim().split('\n').slice(-3).join(' | ')}`)), 60_000).unref()
  })
  return { proc: w, ready }
}

/** `texts` in a JSON-lines file and `key` in a key file; three rounds of each scan (the queue's when PostgreSQL is installed). */
export async function runCli(texts, key) {
  if (spawnSync('/usr/bin/time', ['true']).status !== 0) {
    console.log('\n(sharded scans as a user runs them: skipped — needs /usr/bin/time)')
    return undefined
  }
  const dir = mkdtempSync(join(tmpdir(), 'tokenmark-shard-bench-'))
  const corpus = join(dir, 'corpus.jsonl')
  const keyFile = join(dir, 'bench.tmkey')
  writeFileSync(corpus, texts.map((text) => JSON.stringify({ text })).join('\n') + '\n')
  writeFileSync(keyFile, key.toKeyFile(new Date(0)), { mode: 0o600 })
  try {
    const threads = runThreads(corpus, keyFile)
    const queue = postgresBin() && process.env.SHARD_BENCH_QUEUE !== '0' ? await runQueue(corpus, keyFile, threads.local) : undefined
    const N = threads.local.tokensTotal
    const walls = (xs) => xs.map((x) => fmt(x)).join(', ')
    const ph = threads.phases
    const rows = [
      row('corpus (one JSON-lines file)', `${fmt(N)} tokens, ${fmt(texts.length)} texts, ${fmt(statSync(corpus).size / 2 ** 20)} MiB`),
      row('`tokenmark scan`: wall median (rounds) / CPU user+sys / max RSS', `${fmt(threads.wall1)} s (${walls(threads.rounds.wall1)}) / ${fmt(threads.cpu1)} s / ${fmt(threads.rss1)} MB`),
      row('`scan --workers 2`: wall median (rounds) / CPU user+sys, all threads / max RSS', `${fmt(threads.wallT)} s (${walls(threads.rounds.wallT)}) / ${fmt(threads.cpuT)} s / ${fmt(threads.rssT)} MB`),
      row('`scan --workers 2` over `scan`, tokens/s wall clock (ratio of the median walls; under load this measures the neighbours)', `${fmt(N / threads.wallT)} (${fmt(threads.wall1 / threads.wallT)}×)`, '≥ 1.6×', threads.wall1 / threads.wallT >= 1.6),
      row('`scan --workers 2`: CPU over `scan`\'s (the price of two threads: a second core load and tokenizer, events written and replayed)', `${fmt(threads.cpuT / threads.cpu1)}×`),
      row(
        '`scan --workers 2` phases, seconds since the process started (median): threads started / first block routed / all routed / shards reduced / merged',
        `${fmt(ph.threadsStarted)} / ${fmt(ph.firstRouted)} / ${fmt(ph.routed)} / ${fmt(ph.reduced)} / ${fmt(ph.merged)}`,
      ),
      row('`scan --workers 2`, slowest thread\'s CPU (median): load (core, key, tokenizer) / parse + route / reduce / merge; main thread', `${fmt(ph.load)} / ${fmt(ph.route)} / ${fmt(ph.reduce)} / ${fmt(ph.merge)} s; ${fmt(ph.main)} s`),
      row(
        '`scan --workers 2` CPU critical path (threads started + slowest thread\'s load, route, reduce + merge): the wall a quiet machine with a core per thread would give; `scan`\'s CPU over it',
        `${fmt(ph.critical)} s (${fmt(threads.cpu1 / ph.critical)}×)`,
      ),
      row('`scan --workers 2` result identical to `scan` (every field)', threads.same ? 'yes' : 'NO', 'identical', threads.same),
    ]
    if (queue)
      rows.push(
        row('`scan --shards 2`: wall; CPU of the scan command (upload texts, wait, merge) / of the busier worker', `${fmt(queue.wallQ)} s; ${fmt(queue.scanQ)} s / ${fmt(queue.workerQ)} s`),
        row('`scan --shards 2` over `scan`, tokens/s wall clock (ratio)', `${fmt(N / queue.wallQ)} (${fmt(threads.wall1 / queue.wallQ)}×)`),
        row('`scan --shards 2` result identical to `scan` (every field)', queue.same ? 'yes' : 'NO', 'identical', queue.same),
      )
    else rows.push(row('`scan --shards 2`', process.env.SHARD_BENCH_QUEUE === '0' ? 'skipped (SHARD_BENCH_QUEUE=0)' : 'skipped: no PostgreSQL binaries'))
    printTable(
      `sharded scans as a user runs them (the built CLI, spawned), same corpus, medians of ${ROUNDS} rounds (load average ${loadavg()[0].toFixed(1)}; re-run: SHARD_BENCH_COPIES=${process.env.SHARD_BENCH_COPIES ?? 64} SHARD_BENCH_CORE=0 npm run bench -- shard)`,
      rows,
    )
    return { threads, queue }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const noShards = (j) => {
  const { shards: _s, ...rest } = j
  return JSON.stringify(rest)
}

/** Rounds of each CLI run (SHARD_BENCH_ROUNDS, default 3): `scan` and `scan --workers 2` alternate, so both share the machine's noise. */
const ROUNDS = Number(process.env.SHARD_BENCH_ROUNDS ?? 3)

function runThreads(corpus, keyFile) {
  const m = { wall1: [], cpu1: [], rss1: [], wallT: [], cpuT: [], rssT: [] }
  const phases = []
  let local, threaded
  for (let round = 0; round < ROUNDS; round++) {
    const one = timed(['scan', '--key', keyFile, corpus, '--json', '--no-progress'])
    local = JSON.parse(one.out)
    m.wall1.push(one.wall)
    m.cpu1.push(one.cpu)
    m.rss1.push(one.rss)
    // TOKENMARK_SCAN_PHASES: one stderr line with when each phase ended and each thread's CPU by phase (scan-threads.ts)
    const t = timed(['scan', '--key', keyFile, corpus, '--json', '--no-progress', '--workers', '2'], { TOKENMARK_SCAN_PHASES: '1' })
    threaded = JSON.parse(t.out)
    m.wallT.push(t.wall)
    m.cpuT.push(t.cpu)
    m.rssT.push(t.rss)
    const p = JSON.parse(t.err.split('\n').find((l) => l.startsWith('tokenmark-phases ')).slice('tokenmark-phases '.length))
    const slowest = (k) => Math.max(...p.threadCpu.map((c) => c[k]))
    const work = Math.max(...p.threadCpu.map((c) => c.load + c.route + c.reduce))
    phases.push({ ...p.wall, load: slowest('load'), route: slowest('route'), reduce: slowest('reduce'), merge: slowest('merge'), main: p.mainCpu, critical: p.wall.threadsStarted + work + slowest('merge') })
  }
  const med = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, median(v)]))
  const ph = Object.fromEntries(Object.keys(phases[0]).map((k) => [k, median(phases.map((p) => p[k]))]))
  return { ...med, rounds: m, phases: ph, local, same: noShards(threaded) === JSON.stringify(local) }
}

async function runQueue(corpus, keyFile, local) {
  const cluster = await startCluster()
  const workers = []
  try {
    // One after the other: the first creates the queue's and the scan's schemas.
    for (let i = 0; i < 2; i++) {
      workers.push(startWorker(cluster.url, keyFile))
      await workers[i].ready
    }
    const m = { wallQ: [], scanQ: [], workerQ: [] }
    let queued
    for (let round = 0; round < 3; round++) {
      const before = workers.map((w) => processCpu(w.proc.pid))
      const q = timed(['scan', '--key', keyFile, corpus, '--shards', '2', '--db', cluster.url, '--json', '--no-progress'])
      const after = workers.map((w) => processCpu(w.proc.pid))
      queued = JSON.parse(q.out)
      m.wallQ.push(q.wall)
      m.scanQ.push(q.cpu)
      m.workerQ.push(Math.max(...after.map((a, i) => a - before[i])))
    }
    const med = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, median(v)]))
    return { ...med, same: noShards(queued) === JSON.stringify(local) }
  } finally {
    for (const w of workers) w.proc.kill('SIGTERM')
    cluster.stop()
  }
}
