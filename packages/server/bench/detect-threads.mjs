// Baseline of the batched server benchmark: core's detect() on N worker threads in one process, no HTTP,
// no service. Each thread detects the given texts round-robin for `ms` and reports how many it did.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { detect, getTokenizer, parseKeyFile } from '../../core/dist/index.js'

if (!isMainThread) {
  const { keyFile, texts, ms } = workerData
  const key = parseKeyFile(keyFile)
  for (const t of texts.slice(0, 2)) detect({ text: t, keys: key }) // warm: tokenizer and key prepared
  parentPort.postMessage('ready')
  parentPort.once('message', () => {
    let n = 0
    const end = Date.now() + ms
    while (Date.now() < end) detect({ text: texts[n++ % texts.length], keys: key })
    parentPort.postMessage(n)
  })
}

/**
 * Tokens per second of detect() over `texts` on `threads` worker threads for `ms`, and tokens per second of
 * this process's CPU time over the same window (all its threads, GC helpers included, as the server's figure).
 */
export async function detectThreads(keyFile, texts, threads, ms) {
  const tk = getTokenizer('o200k_base')
  const tokens = texts.map((t) => tk.encode(t).length)
  const workers = Array.from({ length: threads }, () => new Worker(new URL(import.meta.url), { workerData: { keyFile, texts, ms } }))
  await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))))
  const c0 = process.cpuUsage()
  const counts = await Promise.all(workers.map((w) => new Promise((r) => { w.once('message', r); w.postMessage('go') })))
  const c = process.cpuUsage(c0)
  await Promise.all(workers.map((w) => w.terminate()))
  let tok = 0
  for (const c of counts) for (let i = 0; i < c; i++) tok += tokens[i % texts.length]
  return { tokensPerSecond: tok / (ms / 1000), tokensPerCpuSecond: tok / ((c.user + c.system) / 1e6) }
}
