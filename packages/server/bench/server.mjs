// Benchmark of @tokenmark/server (issues 4 and 12): autocannon on loopback, 32 connections, POST /v1/detect
// with ~2 KB watermarked texts against a bare fastify echo of the same body in the same run (p99, and the
// CPU the service spends per request beyond the detection itself against the echo's CPU per request);
// batched detection (64 × 2 KB per request) through HTTP against core's detect() on the same number of
// worker threads in one process, side by side; then a 60-second soak (zero errors, RSS growth < 10 %),
// then 10,000 fuzzed request bodies per route.
//
//   node packages/server/bench/server.mjs                 (after `tsc -b`)
//   node bench/run.mjs ../packages/server/bench/server    (through the root runner)
// Env: BENCH_SECONDS (default 10 per measurement), BENCH_ROUNDS (3 alternating rounds of service and
// baseline; the median round is quoted), BENCH_PARTS (inline,single,batch,soak,fuzz: which parts run),
// SOAK_SECONDS (60), FUZZ_RUNS (10000; 0 skips), BENCH_INLINE_WORK (the server's inline detection bound;
// 0 = every detection on the work pool, for comparison). The table's title gives the load average before and after
// (figures taken on a loaded machine say so) and the last line the command that re-runs it.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { detect, getTokenizer, keyFromSecret, seededRng, watermarkSampler } from '../../core/dist/index.js'
import { compare, fmt, machine, printTable, row } from '../../../bench/lib.mjs'
import { detectThreads } from './detect-threads.mjs'
import { availableParallelism, loadavg } from 'node:os'

const here = fileURLToPath(new URL('.', import.meta.url))
const root = resolve(here, '../../..')
const ADMIN = 'tmt_BenchAdmin01_' + 'b'.repeat(43)
/** Detection threads of the server under test, and of the in-process baseline (as `tokenmark serve`). */
const WORKERS = Math.max(1, availableParallelism() - 1)
/** The server's default inline detection bound (limits.inlineDetectWork in app.ts). */
const INLINE_DEFAULT = 1024

function start(script, args, env) {
  const proc = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  proc.stderr.on('data', (d) => (err += d))
  return new Promise((res, rej) => {
    const onData = (d) => {
      out += d
      const m = /\{"listening":"([^"]+)"\}/.exec(out)
      if (m) {
        // From here on the output (request logs at BENCH_LOG_LEVEL=info) is drained unread: collecting and
        // scanning it would spend this process's CPU, which is autocannon's.
        proc.stdout.off('data', onData)
        proc.stdout.resume()
        res({ proc, url: m[1] })
      }
    }
    proc.stdout.on('data', onData)
    proc.on('exit', (code) => rej(new Error(`${script} exited ${code}: ${err}`)))
  })
}

function rssOf(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) * 1024 : NaN
}

/** ~2 KB of text carrying key's KGW watermark: common words drawn by the watermark sampler. */
function watermarked2k(key, seed) {
  const tk = getTokenizer('o200k_base')
  const words = [...new Set('the of and to in a is that for it as was with be by on not he this are or his from at which but have an they you were her she there been one all we their has would when if so no will more can out up into do than only other new some could time sea ship whale boat water captain deep white'.split(' ').map((w) => tk.encode(' ' + w)).filter((ids) => ids.length === 1).map((ids) => ids[0]))]
  const logits = new Float32Array(tk.vocabSize).fill(-1e9)
  for (const t of words) logits[t] = 0
  const sample = watermarkSampler(key, { temperature: 1 }, seededRng(seed))
  const ids = [words[0]]
  let text = ''
  while (text.length < 2000) {
    for (let i = 0; i < 20; i++) ids.push(sample(logits, Uint32Array.from(ids)))
    text = tk.decode(ids.slice(1))
  }
  return text
}

/** CPU time (user + system, µs) of each thread of a process, by thread id. */
function threadCpu(pid) {
  const out = new Map()
  const tick = 1e6 / 100 // USER_HZ
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')
      out.set(Number(tid), (Number(f[11]) + Number(f[12])) * tick)
    } catch {
      // the thread ended between readdir and read
    }
  }
  return out
}

/**
 * One autocannon run against `target` ({ url, proc }) that also records where the CPU went, per request:
 * the server's event-loop thread, its other threads (detection workers, V8's GC helpers) and this
 * process (autocannon, the client). On 2 cores the three share the machine, so this is the budget.
 */
async function cannon(opts, target) {
  const before = target ? threadCpu(target.proc.pid) : undefined
  const me = process.cpuUsage()
  const r = await new Promise((res, rej) => {
    const inst = autocannon({ connections: 32, pipelining: 1, ...opts }, (err, r) => (err ? rej(err) : res(r)))
    autocannon.track(inst, { renderProgressBar: false, renderResultsTable: false, renderLatencyTable: false })
  })
  if (before) {
    const after = threadCpu(target.proc.pid)
    const client = process.cpuUsage(me)
    let main = 0
    let other = 0
    for (const [tid, t] of after) {
      const d = t - (before.get(tid) ?? 0)
      if (tid === target.proc.pid) main += d
      else other += d
    }
    const n = Math.max(1, r.requests.total)
    r.cpuPerRequest = { main: main / n, other: other / n, client: (client.user + client.system) / n }
  }
  return r
}

export async function run() {
  const seconds = Number(process.env.BENCH_SECONDS ?? 10)
  const soakSeconds = Number(process.env.SOAK_SECONDS ?? 60)
  const fuzzRuns = Number(process.env.FUZZ_RUNS ?? 10_000)
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3))
  const parts = new Set((process.env.BENCH_PARTS ?? 'inline,single,batch,soak,fuzz').split(','))
  const loadBefore = loadavg().map((x) => x.toFixed(1)).join(' ')
  const dir = mkdtempSync(join(tmpdir(), 'tokenmark-bench-'))
  const key = keyFromSecret(Uint8Array.from({ length: 32 }, (_, i) => i + 11), { scheme: 'kgw' })
  // 16 distinct texts, so no cache anywhere sees only a handful of inputs
  const texts = Array.from({ length: 16 }, (_, s) => watermarked2k(key, s + 1))
  const bodies = texts.map((text) => JSON.stringify({ text, keyId: key.keyId }))
  const server = await start(resolve(here, '../dist/bin.js'), ['--port', '0', '--db', join(dir, 'bench.db')], {
    TOKENMARK_MASTER_SECRET: 'e'.repeat(64),
    TOKENMARK_ADMIN_TOKEN: ADMIN,
    // Rate limiting stays on (its hook runs on every request) with a limit the benchmark cannot reach.
    TOKENMARK_RATE_LIMIT: '1000000000',
    TOKENMARK_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    TOKENMARK_DETECT_WORKERS: String(WORKERS),
    // BENCH_INLINE_WORK=0 measures the service with every detection on the pool (the build before inline detection).
    ...(process.env.BENCH_INLINE_WORK !== undefined ? { TOKENMARK_INLINE_DETECT_WORK: process.env.BENCH_INLINE_WORK } : {}),
  })
  const echo = await start(resolve(here, 'echo.mjs'), [], {})
  const proto = await start(resolve(here, 'echo-protocol.mjs'), [], { BENCH_TOKEN: ADMIN, BENCH_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn' })
  const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }
  try {
    const imp = await fetch(`${server.url}/v1/keys`, { method: 'POST', headers: auth, body: JSON.stringify({ keyFile: key.toKeyFile() }) })
    if (imp.status !== 201) throw new Error(`key import failed: ${imp.status} ${await imp.text()}`)
    const check = await (await fetch(`${server.url}/v1/detect`, { method: 'POST', headers: auth, body: bodies[0] })).json()
    if (!check.detected) throw new Error('benchmark text is not detected')

    const requests = bodies.map((body) => ({ method: 'POST', path: '/v1/detect', headers: auth, body }))
    const echoRequests = bodies.map((body) => ({ method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body }))
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
    const us = (x) => fmt(x, 3)
    const cpuRow = ({ cpuPerRequest: c }) => `${us(c.main)} event loop + ${us(c.other)} other threads + ${us(c.client)} client = ${us(c.main + c.other + c.client)}`
    const errors = (r) => r.errors + r.timeouts + r.non2xx
    const rows = []
    const result = {}

    if (parts.has('single')) {
      // The detection's own CPU, to subtract from the service's: CPU time of detect() in this process (not
      // wall time, which other load on a shared machine inflates; GC helper threads included, as they are
      // in the server's figure), the best of 7 rounds.
      let detectCpu = Infinity
      for (let round = 0; round < 7; round++) {
        const c0 = process.cpuUsage()
        for (let i = 0; i < 200; i++) detect({ text: texts[i & 15], keys: key })
        const c = process.cpuUsage(c0)
        detectCpu = Math.min(detectCpu, (c.user + c.system) / 200)
      }
      // warm both, then alternate detect / echo; each round gives one ratio, and the medians are quoted
      await cannon({ url: server.url, requests, duration: 3 })
      await cannon({ url: echo.url, requests: echoRequests, duration: 3 })
      // The service's own cost measured directly as well: the same route with a two-word text (whose
      // detection costs little, measured and subtracted like the 2 KB one's) against the echo of that body.
      // It needs no subtraction of a large, load-sensitive detection figure.
      const tiny = 'the sea'
      let tinyCpu = Infinity
      for (let round = 0; round < 7; round++) {
        const c0 = process.cpuUsage()
        for (let i = 0; i < 2000; i++) detect({ text: tiny, keys: key })
        const c = process.cpuUsage(c0)
        tinyCpu = Math.min(tinyCpu, (c.user + c.system) / 2000)
      }
      const tinyBody = JSON.stringify({ text: tiny, keyId: key.keyId })
      const tinyReq = [{ method: 'POST', path: '/v1/detect', headers: auth, body: tinyBody }]
      const tinyEcho = [{ method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: tinyBody }]
      const protoRatios = []
      await cannon({ url: proto.url, requests: tinyReq, duration: 2 })
      const d = []
      const e = []
      const cpuRatios = []
      const tinyRatios = []
      const tinyRuns = []
      for (let i = 0; i < rounds; i++) {
        const dr = await cannon({ url: server.url, requests, duration: seconds }, server)
        const er = await cannon({ url: echo.url, requests: echoRequests, duration: seconds }, echo)
        d.push(dr)
        e.push(er)
        cpuRatios.push((dr.cpuPerRequest.main + dr.cpuPerRequest.other - detectCpu) / (er.cpuPerRequest.main + er.cpuPerRequest.other))
        const tr = await cannon({ url: server.url, requests: tinyReq, duration: Math.max(2, seconds / 2) }, server)
        const te = await cannon({ url: echo.url, requests: tinyEcho, duration: Math.max(2, seconds / 2) }, echo)
        const tp = await cannon({ url: proto.url, requests: tinyReq, duration: Math.max(2, seconds / 2) }, proto)
        tinyRuns.push([tr, te, tp])
        tinyRatios.push((tr.cpuPerRequest.main + tr.cpuPerRequest.other - tinyCpu) / (te.cpuPerRequest.main + te.cpuPerRequest.other))
        protoRatios.push((tr.cpuPerRequest.main + tr.cpuPerRequest.other - tinyCpu) / (tp.cpuPerRequest.main + tp.cpuPerRequest.other))
      }
      const tinyMid = tinyRatios.indexOf(median(tinyRatios))
      const [tr, te] = tinyRuns[tinyMid]
      const protoMid = protoRatios.indexOf(median(protoRatios))
      const tp = tinyRuns[protoMid][2]
      // The round whose CPU ratio is the median is the one whose rows are printed.
      const mid = cpuRatios.indexOf(median(cpuRatios))
      const det = d[mid]
      const ech = e[mid]
      const ratio = median(d.map((r) => r.requests.average)) / median(e.map((r) => r.requests.average))
      const tk = getTokenizer('o200k_base')
      let j = 0
      const [inProcess, encodeOnly] = compare(() => detect({ text: texts[j++ & 15], keys: key }), () => tk.encode(texts[j++ & 15]), { rounds: 7, minMs: 200 })
      // What the service adds per request: its CPU (event loop and worker threads) minus the detection itself,
      // against everything a bare echo spends per request.
      const serviceCpu = det.cpuPerRequest.main + det.cpuPerRequest.other
      const beyond = serviceCpu - detectCpu
      const echoCpu = ech.cpuPerRequest.main + ech.cpuPerRequest.other
      const cpuRatio = cpuRatios[mid]
      const p99 = median(d.map((r) => r.latency.p99))
      rows.push(
        row('/v1/detect, 2 KB text (req/s, median)', fmt(median(d.map((r) => r.requests.average))), '', undefined),
        row('bare fastify echo, same body (req/s, median)', fmt(median(e.map((r) => r.requests.average))), '', undefined),
        row('detect / echo (req/s; bounded by the tokenizer on 2 cores, for reference)', fmt(ratio, 2), '', undefined),
        row('CPU per detect request (µs, median round)', cpuRow(det), '', undefined),
        row('CPU per echo request (µs, same round)', cpuRow(ech), '', undefined),
        row('one 2 KB detection in process (µs)', `${us(inProcess * 1e6)}, of which tokenizer encode ${us(encodeOnly * 1e6)}`, '', undefined),
        row('service CPU per request beyond detection (µs)', `${us(beyond)} (= ${us(serviceCpu)} − ${us(detectCpu)} of detect() CPU in process)`, '', undefined),
        row('bare echo CPU per request (µs)', us(echoCpu), '', undefined),
        row(`beyond detection / echo (median of ${rounds} rounds: ${cpuRatios.map((x) => fmt(x, 2)).join(', ')})`, fmt(cpuRatio, 2), '≤ 1.5', cpuRatio <= 1.5),
        row(`CPU per /v1/detect request of a two-word text (µs, median round; detect() of it ${us(tinyCpu)} in process)`, cpuRow(tr), '', undefined),
        row('CPU per echo request of the same body (µs, same round)', cpuRow(te), '', undefined),
        row(`two-word detect request beyond its detection / echo (median of ${rounds} rounds: ${tinyRatios.map((x) => fmt(x, 2)).join(', ')}; proposed goal)`, fmt(tinyRatios[tinyMid], 2), '≤ 1.5', tinyRatios[tinyMid] <= 1.5),
        row('CPU per request of the protocol echo, same two-word body (µs, median round: logger, timeouts, headers, token check, schema)', cpuRow(tp), '', undefined),
        row(`two-word detect request beyond its detection / protocol echo (median of ${rounds} rounds: ${protoRatios.map((x) => fmt(x, 2)).join(', ')}; proposed goal)`, fmt(protoRatios[protoMid], 2), '≤ 1.5', protoRatios[protoMid] <= 1.5),
        row('detect p99 latency (ms, median)', fmt(p99), '≤ 20', p99 <= 20),
        row('detect p50 latency (ms, median)', fmt(median(d.map((r) => r.latency.p50))), '', undefined),
      )
      Object.assign(result, { detect: det.requests.average, echo: ech.requests.average, ratio, cpuRatio, tinyRatio: tinyRatios[tinyMid], protoRatio: protoRatios[protoMid], p99 })
    }

    if (parts.has('inline')) {
      // The inline bound: detect() time per unit of work estimate (UTF-8 bytes × keys, doubled for window
      // and for marks; detectWork) on 8 KiB of prose and of the worst inputs (each one pre-token or one
      // cluster; fixed-seed LCG), one key and four, with and without a window: the time the event loop can
      // spend on a request at the default bound (inlineDetectWork, 1 Ki; app.ts) is its worst figure × 1 Ki.
      // CPU time (this process, all threads), not wall time, which other load on a shared machine inflates;
      // the median of 5 rounds of at least 20 ms each, after two warm-up calls.
      const cpuTime = (fn) => {
        fn()
        fn()
        const per = []
        for (let r = 0; r < 5; r++) {
          const c0 = process.cpuUsage()
          let calls = 0
          let used = 0
          do {
            fn()
            calls++
            const c = process.cpuUsage(c0)
            used = c.user + c.system
          } while (used < 20_000)
          per.push(used / 1e6 / calls)
        }
        return per.sort((a, b) => a - b)[2]
      }
      const utf8 = new TextEncoder()
      let seed = 12
      const rnd = (k) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), seed % k)
      const fill = (f) => {
        let t = ''
        while (utf8.encode(t).length < 8192) t += f()
        return t
      }
      const inputs = {
        'English prose': texts.join(' ').slice(0, 8192),
        'CJK run': fill(() => String.fromCodePoint(0x4e00 + rnd(20_000))),
        'letter + combining marks': 'a' + fill(() => String.fromCodePoint(0x300 + rnd(0x70))),
        'uppercase run': fill(() => String.fromCharCode(65 + rnd(26))),
        'one symbol repeated': fill(() => '='),
        'random ASCII symbols': fill(() => '!#$%&*+-.:;<=>?@^_~'[rnd(19)]),
        'spaces': fill(() => ' ') + 'a',
      }
      const four = [key, ...[2, 3, 4].map((k) => keyFromSecret(Uint8Array.from({ length: 32 }, (_, i) => i * k + 1), { scheme: 'kgw' }))]
      let worst = { ns: 0, what: '' }
      const cells = []
      for (const [name, text] of Object.entries(inputs)) {
        const bytes = utf8.encode(text).length
        for (const [label, keys, window] of [['1 key', [key], false], ['1 key + window', [key], true], ['4 keys', four, false]]) {
          const t = cpuTime(() => detect({ text, keys, window }))
          const ns = (t * 1e9) / (bytes * keys.length * (window ? 2 : 1))
          if (ns > worst.ns) worst = { ns, what: `${name}, ${label}` }
          cells.push(`${label} ${fmt(ns, 2)}`)
        }
        rows.push(row(`detect() per unit of work, 8 KiB ${name} (ns)`, cells.splice(0).join('; '), '', undefined))
      }
      const atBound = (worst.ns * INLINE_DEFAULT) / 1e6
      rows.push(row(`event loop time of the worst request within the inline bound (${INLINE_DEFAULT} × worst: ${worst.what}; ms)`, fmt(atBound, 2), '≪ 100', atBound < 20))
    }

    if (parts.has('batch')) {
      // Batched: 64 × 2 KB texts per request through HTTP (a few connections keep every worker busy),
      // against detect() on the same texts on the same number of threads in one process, back to back.
      const tk0 = getTokenizer('o200k_base')
      const batchTexts = Array.from({ length: 64 }, (_, i) => texts[i & 15])
      const batchTokens = batchTexts.reduce((n, t) => n + tk0.encode(t).length, 0)
      const batchReq = [{ method: 'POST', path: '/v1/detect', headers: auth, body: JSON.stringify({ texts: batchTexts, keyId: key.keyId }) }]
      await cannon({ url: server.url, requests: batchReq, duration: 3, connections: 2 * WORKERS })
      const httpBatch = []
      const threadBatch = []
      const batchRatios = []
      const cpuRatios = []
      const runsBatch = []
      for (let i = 0; i < rounds; i++) {
        const r = await cannon({ url: server.url, requests: batchReq, duration: seconds, connections: 2 * WORKERS }, server)
        runsBatch.push(r)
        httpBatch.push((r.requests.total * batchTokens) / seconds)
        const base = await detectThreads(key.toKeyFile(), texts, WORKERS, seconds * 1000)
        threadBatch.push(base.tokensPerSecond)
        batchRatios.push(httpBatch[i] / threadBatch[i])
        // The same comparison in CPU time, which other load on a shared machine disturbs far less than wall
        // time: tokens per CPU-second of the whole server process (event loop, workers, GC helpers) against
        // tokens per CPU-second of the in-process baseline (its threads and GC helpers).
        cpuRatios.push(batchTokens / ((r.cpuPerRequest.main + r.cpuPerRequest.other) / 1e6) / base.tokensPerCpuSecond)
      }
      const batchRatio = median(batchRatios)
      const mid = batchRatios.indexOf(batchRatio)
      const c = runsBatch[mid].cpuPerRequest
      const cpuRatio = median(cpuRatios)
      rows.push(
        row(`batched /v1/detect, 64 × 2 KB per request, ${WORKERS} worker thread(s) (tokens/s, median)`, fmt(median(httpBatch)), '', undefined),
        row(`detect() in process on ${WORKERS} thread(s), same texts (tokens/s, median)`, fmt(median(threadBatch)), '', undefined),
        row(`CPU per batched request (ms, median round): event loop + other threads (workers, GC) + client`, `${fmt(c.main / 1e3)} + ${fmt(c.other / 1e3)} + ${fmt(c.client / 1e3)}`, '', undefined),
        row(`batched HTTP / in process (median of ${rounds} rounds: ${batchRatios.map((x) => fmt(x, 2)).join(', ')})`, fmt(batchRatio, 2), '≥ 0.8', batchRatio >= 0.8),
        row(`tokens per CPU-second, server process / in process (median of ${rounds} rounds: ${cpuRatios.map((x) => fmt(x, 2)).join(', ')}; less load-sensitive, for reference)`, fmt(cpuRatio, 2), '', undefined),
      )
      result.batchRatio = batchRatio
      result.batchCpuRatio = cpuRatio
    }

    if (parts.has('soak')) {
      // RSS swings by ±25 % with garbage-collection timing (a sawtooth of 10-20 s at this rate), so one
      // reading at each end says little, and neither do medians of the first and last sixths (one or two
      // teeth each: +14 % and -7 % on the same build). A leak is a trend: sample every second and take the
      // least-squares line through all samples; growth = its rise over the soak / its value at the start.
      const rssSamples = []
      const sampler = setInterval(() => rssSamples.push(rssOf(server.proc.pid)), 1000)
      const soak = await cannon({ url: server.url, requests, duration: soakSeconds })
      clearInterval(sampler)
      const sixth = Math.max(1, Math.floor(rssSamples.length / 6))
      const rss0 = median(rssSamples.slice(0, sixth))
      const rss1 = median(rssSamples.slice(-sixth))
      const n = rssSamples.length
      const mx = (n - 1) / 2
      const my = rssSamples.reduce((a, b) => a + b, 0) / n
      let sxy = 0
      let sxx = 0
      rssSamples.forEach((y, x) => {
        sxy += (x - mx) * (y - my)
        sxx += (x - mx) ** 2
      })
      const slope = sxx > 0 ? sxy / sxx : 0
      const fit0 = my - slope * mx
      const growth = (slope * (n - 1)) / fit0
      rows.push(
        row(`soak ${soakSeconds} s: requests`, fmt(soak.requests.total), '', undefined),
        row(`soak ${soakSeconds} s: errors + non-2xx`, String(errors(soak)), '0', errors(soak) === 0),
        row(`soak RSS growth (least-squares trend over ${n} samples)`, `${(growth * 100).toFixed(1)} % (${(fit0 / 2 ** 20).toFixed(0)} → ${((fit0 + slope * (n - 1)) / 2 ** 20).toFixed(0)} MiB)`, '< 10 %', growth < 0.1),
        row('soak RSS, medians of first and last sixth (GC sawtooth; for reference)', `${(rss0 / 2 ** 20).toFixed(0)} → ${(rss1 / 2 ** 20).toFixed(0)} MiB (${(((rss1 - rss0) / rss0) * 100).toFixed(1)} %)`, '', undefined),
        row('soak p99 latency (ms)', fmt(soak.latency.p99), '', undefined),
      )
      Object.assign(result, { soakErrors: errors(soak), rssGrowth: growth })
    }
    if (parts.has('fuzz') && fuzzRuns > 0) {
      const t0 = Date.now()
      const r = spawnSync(process.execPath, [resolve(root, 'node_modules/vitest/vitest.mjs'), 'run', 'packages/server/test/fuzz.test.ts', '--reporter=dot'], {
        cwd: root,
        env: { ...process.env, FUZZ_RUNS: String(fuzzRuns) },
        encoding: 'utf8',
      })
      rows.push(row(`fuzzed bodies (/v1/detect + samples)`, `${2 * fuzzRuns} in ${((Date.now() - t0) / 1000).toFixed(0)} s`, 'no 5xx', r.status === 0))
      if (r.status !== 0) process.stderr.write(r.stdout + r.stderr)
    }
    const load = `load average ${loadBefore} before, ${loadavg().map((x) => x.toFixed(1)).join(' ')} after`
    printTable(`server: /v1/detect vs echo, 32 connections, ${rounds} alternating rounds of ${seconds} s (log level ${process.env.BENCH_LOG_LEVEL ?? 'warn'}; ${load})`, rows)
    // What re-runs this table, e.g. on a quiet machine (a load average well above 0 means the figures were taken under load).
    // The bench itself keeps both cores busy (load average ~2 after it), so only the figure before it tells
    // whether other work shared the machine.
    const loaded = Number(loadBefore.split(' ')[0]) > 1
    if (loaded) console.log(`\nthese figures were taken under load (${load}); re-run on a quiet machine before reading them as a verdict`)
    console.log(`\nre-run: ${process.env.BENCH_INLINE_WORK !== undefined ? `BENCH_INLINE_WORK=${process.env.BENCH_INLINE_WORK} ` : ''}BENCH_SECONDS=${seconds} BENCH_ROUNDS=${rounds} BENCH_PARTS=${[...parts].join(',')} SOAK_SECONDS=${soakSeconds} FUZZ_RUNS=${fuzzRuns} npm run bench -- server`)
    return result
  } finally {
    server.proc.kill('SIGTERM')
    echo.proc.kill('SIGTERM')
    proto.proc.kill('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(`machine: ${machine()}`)
  await run()
}
