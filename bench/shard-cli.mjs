// What a user runs, end to end, on one corpus: `tokenmark scan` (one process) against `tokenmark scan
// --workers 2` (two threads of one process: scan-threads.ts) and `tokenmark scan --shards 2 --db` with two
// `tokenmark worker` processes on a throw-away PostgreSQL (scripts/pg-cluster.mjs, fsync off: a scan's tables
// are transient; the same cluster the tests use). The built CLI is spawned as a user would; the results must
// be identical. Wall clock is what the user waits for (on a shared machine it measures the neighbours too);
// CPU seconds per process (from /usr/bin/time; the workers' from /proc/<pid>/stat) say where the work went.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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

/** Runs the CLI under /usr/bin/time: { out, wall, cpu }. */
function timed(args) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S', process.execPath, BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 })
  if (r.status !== 0) throw new Error(`tokenmark ${args[0]} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`)
  const [wall, user, sys] = r.stderr.trim().split('\n').pop().split(' ').map(Number)
  return { out: r.stdout, wall, cpu: user + sys }
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
    const queue = postgresBin() ? await runQueue(corpus, keyFile, threads.local) : undefined
    const N = threads.local.tokensTotal
    const rows = [
      row('`tokenmark scan`: wall / CPU (process start, read, score, print)', `${fmt(threads.wall1)} s / ${fmt(threads.cpu1)} s (${fmt(N / threads.wall1)} tokens/s wall)`),
      row('`scan --workers 2`: wall / CPU of both threads and the main one', `${fmt(threads.wallT)} s / ${fmt(threads.cpuT)} s`),
      row('`scan --workers 2` over `scan`, tokens/s wall clock (ratio)', `${fmt(N / threads.wallT)} (${fmt(threads.wall1 / threads.wallT)}×)`, '≥ 1.6×', threads.wall1 / threads.wallT >= 1.6),
      row('`scan --workers 2` result identical to `scan` (every field)', threads.same ? 'yes' : 'NO', 'identical', threads.same),
    ]
    if (queue)
      rows.push(
        row('`scan --shards 2`: wall; CPU of the scan command (upload texts, wait, merge) / of the busier worker', `${fmt(queue.wallQ)} s; ${fmt(queue.scanQ)} s / ${fmt(queue.workerQ)} s`),
        row('`scan --shards 2` over `scan`, tokens/s wall clock (ratio)', `${fmt(N / queue.wallQ)} (${fmt(threads.wall1 / queue.wallQ)}×)`),
        row('`scan --shards 2` result identical to `scan` (every field)', queue.same ? 'yes' : 'NO', 'identical', queue.same),
      )
    else rows.push(row('`scan --shards 2`', 'skipped: no PostgreSQL binaries'))
    printTable(`sharded scans as a user runs them (the built CLI, spawned), same corpus, medians of 3 (load average ${loadavg()[0].toFixed(1)})`, rows)
    return { threads, queue }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const noShards = (j) => {
  const { shards: _s, ...rest } = j
  return JSON.stringify(rest)
}

function runThreads(corpus, keyFile) {
  const m = { wall1: [], cpu1: [], wallT: [], cpuT: [] }
  let local, threaded
  for (let round = 0; round < 3; round++) {
    const one = timed(['scan', '--key', keyFile, corpus, '--json', '--no-progress'])
    local = JSON.parse(one.out)
    m.wall1.push(one.wall)
    m.cpu1.push(one.cpu)
    const t = timed(['scan', '--key', keyFile, corpus, '--json', '--no-progress', '--workers', '2'])
    threaded = JSON.parse(t.out)
    m.wallT.push(t.wall)
    m.cpuT.push(t.cpu)
  }
  const med = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, median(v)]))
  return { ...med, local, same: noShards(threaded) === JSON.stringify(local) }
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
