/**
 * A thread of `scan --workers N` (scan-threads.ts): phase `route` tokenizes and PRFs its block of texts
 * into per-shard events (core TupleRouter, as a queue worker's route job); phase `reduce` replays one
 * shard's events from every block into its part (core reduceShard, as a reduce job). Replies transfer
 * their typed arrays.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { EmissionFilter, getTokenizer, prepareKey, reduceShard, shardPartToBytes, TokenmarkError, TupleRouter, type RouteCounts, type RoutedBlock, type Tokenizer, type WatermarkKey } from '@tokenmark/core'
import { CliError } from '../errors.js'
import { partHashing } from '../hash.js'
import { loadKey } from '../load.js'

export interface ThreadSetup {
  keyFile: string
  /** Shards (= threads). */
  count: number
  tokenizer?: string
  normalize: boolean
  filter?: Uint8Array
}

export interface RouteReply {
  events: Uint32Array[]
  counts: RouteCounts
  corpus: Uint8Array
  settings: Uint8Array
}

type Message =
  | {
      phase: 'route'
      /** Corpus position of this block's first text. */
      from: number
      items: { text: string; prompt?: string }[]
      /** Prompts excluded from the whole scan (block 0 routes them). */
      prompts: string[]
    }
  | { phase: 'reduce'; index: number; blocks: RoutedBlock[]; settings: Uint8Array }

if (parentPort !== null) {
  const port = parentPort
  const s = workerData as ThreadSetup
  // Loaded before the first message (while the main thread reads the corpus); an error waits for it.
  let ready: { key: WatermarkKey; tokenizer: Tokenizer; filter?: EmissionFilter } | Error
  try {
    const key = loadKey(s.keyFile)
    const tokenizer = getTokenizer(s.tokenizer ?? key.config.tokenizer)
    tokenizer.encode('warm')
    ready = { key, tokenizer, filter: s.filter !== undefined ? EmissionFilter.fromBytes(s.filter) : undefined }
  } catch (e) {
    ready = e as Error
  }
  port.on('message', (m: Message) => {
    try {
      if (ready instanceof Error) throw ready
      const { key, tokenizer, filter } = ready
      if (m.phase === 'route') {
        const router = new TupleRouter(prepareKey(key), s.count, { tokenizer, normalize: s.normalize, filter, firstText: m.from })
        for (const p of m.prompts) router.excludePrompt(p)
        for (const it of m.items) router.add(it.text, it.prompt)
        const events = Array.from({ length: s.count }, (_, i) => router.take(i))
        const reply: RouteReply = { events, counts: router.counts, corpus: router.corpus.bytes(), settings: router.settings() }
        port.postMessage(reply, events.map((e) => e.buffer as ArrayBuffer))
      } else {
        const part = shardPartToBytes(reduceShard(key, { index: m.index, count: s.count }, m.blocks, { filter: s.filter !== undefined, settings: m.settings }), partHashing)
        port.postMessage({ part }, [part.buffer as ArrayBuffer])
      }
    } catch (e) {
      port.postMessage({ error: e instanceof CliError || e instanceof TokenmarkError ? e.message : `internal error in a scan thread: ${(e as Error).message}` })
    }
  })
}
