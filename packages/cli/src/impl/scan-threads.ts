/**
 * `scan --workers N`: the queue's two phases (worker.ts: route blocks of texts, then reduce shards;
 * docs/spec.md#shards) on N threads of this process, for one machine with several cores. Each thread
 * routes one block of the texts (normalise, tokenize, PRF) into per-shard event blocks; the blocks move to
 * the thread that owns their shard by transfer (no copy, no database); each thread reduces its shard into a
 * `.tmacc` part; this thread adds the parts' summaries (shard-part.ts) and prints what `scan --shards`
 * prints. Every event is touched once per phase, so both phases divide by N.
 */
import { mkdirSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import { readCorpus } from '../corpus.js'
import { CliError } from '../errors.js'
import { readFileBytes } from '../io.js'
import type { ScanOptions } from './scan.js'
import type { RouteReply, ThreadSetup } from './scan-thread.js'

/**
 * Nothing above imports core: the threads are started before this thread loads it, so their start-up
 * (each compiles core and the tokenizer's tables: ~0.6 s on Node 20) overlaps this thread's.
 */
export async function runThreads(paths: string[], o: ScanOptions): Promise<void> {
  const n = o.workers as number
  const setup: ThreadSetup = {
    keyFile: o.key,
    count: n,
    tokenizer: o.tokenizer,
    normalize: o.normalize,
    filter: o.filter !== undefined ? readFileBytes(o.filter, 'emission filter') : undefined,
  }
  // Started first: each loads core, the key and the tokenizer while this thread reads the corpus.
  const threads = Array.from({ length: n }, () => thread(setup))
  try {
    const [{ mergedResult }, { loadFilter, loadKey, resolveTokenizer }, { mergeParts, printMerged }, { writePartFile }] = await Promise.all([
      import('@tokenmark/core'),
      import('../load.js'),
      import('./merge.js'),
      import('./shard-part.js'),
    ])
    const key = loadKey(o.key)
    resolveTokenizer(o.tokenizer, undefined) // a bad name is this command's one-line error
    if (o.filter !== undefined) loadFilter(o.filter)
    const corpus = readCorpus(paths, { format: o.format, split: o.split, prompts: o.prompts })
    const items = corpus.items
    const per = Math.ceil(items.length / n)
    const routed = (await Promise.all(
      threads.map((t, j) => {
        const from = Math.min(items.length, j * per)
        const block = items.slice(from, Math.min(items.length, from + per)).map((it) => ({ text: it.text, prompt: it.prompt }))
        return t.ask({ phase: 'route', from, items: block, prompts: j === 0 ? corpus.prompts : [] })
      }),
    )) as RouteReply[]
    const parts = (await Promise.all(
      threads.map((t, i) => {
        const blocks = routed.map((r) => ({ events: r.events[i], counts: r.counts, corpus: r.corpus }))
        return t.ask({ phase: 'reduce', index: i, blocks, settings: routed[0].settings }, blocks.map((b) => b.events.buffer as ArrayBuffer))
      }),
    )) as { part: Uint8Array }[]
    const bytes = parts.map((p) => p.part)
    const r = mergedResult(mergeParts(key, bytes), { alpha: o.alpha })
    if (r.texts !== items.length) throw new CliError(`threads read ${r.texts} texts, the corpus has ${items.length}`)
    if (o.partsOut !== undefined) {
      try {
        mkdirSync(o.partsOut, { recursive: true })
      } catch (e) {
        throw new CliError(`cannot make the folder ${o.partsOut}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`)
      }
      bytes.forEach((b, i) => writePartFile(o.partsOut as string, r.shards.hashes[i], b))
    }
    printMerged(r, o.json === true, corpus.input)
  } finally {
    await Promise.all(threads.map((t) => t.stop()))
  }
}

/** One thread: answers one message at a time; a thread's error becomes this command's one-line error. */
function thread(setup: ThreadSetup) {
  const w = new Worker(new URL('./scan-thread.js', import.meta.url), { workerData: setup })
  let pending: { resolve: (m: unknown) => void; reject: (e: Error) => void } | undefined
  w.on('message', (m: { error?: string }) => {
    const p = pending
    pending = undefined
    if (m.error !== undefined) p?.reject(new CliError(m.error))
    else p?.resolve(m)
  })
  w.on('error', (e) => pending?.reject(e))
  return {
    ask: (msg: unknown, transfer: ArrayBuffer[] = []) =>
      new Promise<unknown>((resolve, reject) => {
        pending = { resolve, reject }
        w.postMessage(msg, transfer)
      }),
    stop: () => w.terminate(),
  }
}
