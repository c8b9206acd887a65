/**
 * A thread of `scan --workers N` (scan-threads.ts). Per block of the corpus (corpus-blocks.ts): parse it
 * (`parsed` reply at once, so the main thread can match --prompts ids in corpus order), then route its texts
 * (normalise, tokenize, PRF) into per-shard events with core's TupleRouter, as a queue worker's route job
 * does (`routed` reply). Meanwhile `replay`: its shard's events of each routed block, in corpus order, into a
 * core ShardReducer (a reduce job, block by block); `reduce` then gives the shard's part, or only its counts
 * when no part is kept; and on one thread `merge` (parts) or `sum` (counts) gives the result. Replies
 * transfer their typed arrays.
 */
import { parentPort, workerData } from 'node:worker_threads'
import {
  addShardCounts,
  CodedError,
  corpusResult,
  getTokenizer,
  mergedResult,
  prepareKey,
  routerSettings,
  ShardReducer,
  shardCounts,
  shardPartToBytes,
  TupleRouter,
  type CorpusResult,
  type EmissionFilter,
  type RouteCounts,
  type RoutedBlock,
  type ShardCounts,
  type ShardedResult,
  type Tokenizer,
  type WatermarkKey,
} from '@tokenmark/core'
import { parseBlock, type BlockItem, type CorpusBlock } from '../corpus-blocks.js'
import { CliError } from '../errors.js'
import { partHashing } from '../hash.js'
import { loadFilter, loadKey } from '../load.js'
import { threadCpuSeconds } from '../timing.js'
import { mergeParts } from './merge.js'

export interface ThreadSetup {
  keyFile: string
  /** Shards (= threads). */
  count: number
  tokenizer?: string
  normalize: boolean
  filterFile?: string
  /** Ids the --prompts file names: a text without a prompt with one of these waits for the main thread's match. */
  promptIds: string[]
  /**
   * Whether the parts are kept (--parts-out): then each shard becomes `.tmacc` bytes with their hashes and the
   * corpus digest that names them; otherwise a shard's counts alone are added up (nothing would be named).
   */
  parts: boolean
}

export type ThreadMessage =
  /** Block `seq` (corpus order), whose first text is text `from` of the corpus; `check`: parse only (the scan has failed). */
  | { phase: 'block'; seq: number; from: number; block: CorpusBlock; check: boolean }
  /** The prompts the main thread matched to texts of a block that waited (item index, prompt). */
  | { phase: 'assign'; seq: number; prompts: [number, string][] }
  /** The prompts excluded from the whole scan, routed as a block of no texts that goes first. */
  | { phase: 'prompts'; prompts: string[] }
  /** Shard `index`'s events of the next block in corpus order, replayed at once. */
  | { phase: 'replay'; index: number; block: RoutedBlock }
  /** Every block has been replayed: shard `index`'s part (or counts). */
  | { phase: 'reduce'; index: number }
  | { phase: 'merge'; parts: Uint8Array[]; alpha: number }
  | { phase: 'sum'; counts: ShardCounts[]; alpha: number }

export type ThreadReply =
  | {
      kind: 'parsed'
      seq: number
      fault?: 'utf8' | 'nul'
      blank: boolean
      error?: string
      texts: number
      withPrompts: number
      /** Texts without a prompt whose id the prompts file names (first of each id in the block): the block waits for `assign`. */
      candidates?: [number, string][]
      /** The key, tokenizer or filter could not be loaded (the scan's error unless the corpus has one). */
      setupError?: string
      /** No `routed` reply follows (a fault, a bad line, a setup error or `check`). */
      final: boolean
    }
  | { kind: 'routed'; seq: number; routed: Routed }
  | { kind: 'part'; part: Uint8Array; cpu: ThreadCpu }
  | { kind: 'counts'; counts: ShardCounts; cpu: ThreadCpu }
  | { kind: 'merged'; result: ShardedResult; parts: Uint8Array[]; cpu: ThreadCpu }
  | { kind: 'summed'; result: CorpusResult; cpu: ThreadCpu }
  | { kind: 'error'; error: string }

/** This thread's CPU seconds so far, by phase (TOKENMARK_SCAN_PHASES, scan-threads.ts). */
export interface ThreadCpu {
  /** Starting: core compiled, key, tokenizer tables and filter loaded. */
  load: number
  /** Parsing and routing blocks. */
  route: number
  reduce: number
  merge: number
}

export interface Routed {
  events: Uint32Array[]
  counts: RouteCounts
  corpus: Uint8Array
}

interface Loaded {
  key: WatermarkKey
  tokenizer: Tokenizer
  filter?: EmissionFilter
}

/** Loads what `scan` loads, in its order (key, --tokenizer, filter, the key's tokenizer), and warms the tokenizer's tables. */
function load(s: ThreadSetup): Loaded {
  const key = loadKey(s.keyFile)
  const named = s.tokenizer !== undefined ? getTokenizer(s.tokenizer) : undefined
  const filter = s.filterFile !== undefined ? loadFilter(s.filterFile) : undefined
  const tokenizer = named ?? getTokenizer(key.config.tokenizer)
  tokenizer.encode('warm')
  return { key, tokenizer, filter }
}

function message(e: unknown): string {
  return e instanceof CliError || e instanceof CodedError ? e.message : `internal error in a scan thread: ${(e as Error).message}`
}

if (parentPort !== null) {
  const port = parentPort
  const s = workerData as ThreadSetup
  // Loaded before the first message, while the main thread reads the first block.
  let ready: Loaded | Error
  try {
    ready = load(s)
  } catch (e) {
    ready = e as Error
  }
  const cpu: ThreadCpu = { load: threadCpuSeconds(), route: 0, reduce: 0, merge: 0 }
  const promptIds = new Set(s.promptIds)
  const waiting = new Map<number, { from: number; items: BlockItem[] }>()

  // One router for every block this thread routes: its event logs grow once (TupleRouter.restart).
  let router: TupleRouter | undefined
  const routerOf = (l: Loaded) => (router ??= new TupleRouter(prepareKey(l.key), s.count, { tokenizer: l.tokenizer, normalize: s.normalize, filter: l.filter, hashing: partHashing, digest: s.parts }))
  // This thread's shard, replayed block by block; its settings digest is every router's here (one process, one setup).
  let reducer: ShardReducer | undefined
  const reducerOf = (l: Loaded, index: number) =>
    (reducer ??= new ShardReducer(l.key, { index, count: s.count }, { filter: l.filter !== undefined, settings: routerSettings({ tokenizer: l.tokenizer, normalize: s.normalize, filter: l.filter }) }))
  const route = (l: Loaded, seq: number, from: number, items: BlockItem[], prompts: string[] = []) => {
    const router = routerOf(l)
    router.restart(from)
    for (const p of prompts) router.excludePrompt(p)
    for (const it of items) router.add(it.text, it.prompt)
    const events = Array.from({ length: s.count }, (_, i) => router.take(i))
    const reply: ThreadReply = { kind: 'routed', seq, routed: { events, counts: { ...router.counts }, corpus: router.corpus.bytes() } }
    port.postMessage(reply, events.map((e) => e.buffer as ArrayBuffer))
  }

  port.on('message', (m: ThreadMessage) => {
    const c0 = threadCpuSeconds()
    const phase = m.phase === 'reduce' || m.phase === 'replay' ? 'reduce' : m.phase === 'merge' || m.phase === 'sum' ? 'merge' : 'route'
    try {
      if (m.phase === 'block') {
        const p = parseBlock(m.block)
        const setupError = ready instanceof Error ? message(ready) : undefined
        const final = m.check || setupError !== undefined || p.fault !== undefined || p.error !== undefined
        const candidates: [number, string][] = []
        if (!final && promptIds.size > 0) {
          const met = new Set<string>()
          p.items.forEach((it, i) => {
            if (it.prompt === undefined && promptIds.has(it.id) && !met.has(it.id)) {
              met.add(it.id)
              candidates.push([i, it.id])
            }
          })
        }
        const parsed: ThreadReply = {
          kind: 'parsed',
          seq: m.seq,
          ...(p.fault !== undefined ? { fault: p.fault } : {}),
          blank: p.blank,
          ...(p.error !== undefined ? { error: p.error } : {}),
          texts: p.items.length,
          withPrompts: p.items.reduce((a, it) => a + (it.prompt !== undefined ? 1 : 0), 0),
          ...(candidates.length > 0 ? { candidates } : {}),
          ...(setupError !== undefined ? { setupError } : {}),
          final,
        }
        port.postMessage(parsed)
        if (final) return
        if (candidates.length > 0) waiting.set(m.seq, { from: m.from, items: p.items })
        else route(ready as Loaded, m.seq, m.from, p.items)
      } else if (m.phase === 'assign') {
        const w = waiting.get(m.seq) as { from: number; items: BlockItem[] }
        waiting.delete(m.seq)
        for (const [i, prompt] of m.prompts) w.items[i] = { ...w.items[i], prompt }
        route(ready as Loaded, m.seq, w.from, w.items)
      } else if (m.phase === 'prompts') {
        route(ready as Loaded, -1, 0, [], m.prompts)
      } else if (m.phase === 'replay') {
        reducerOf(ready as Loaded, m.index).add(m.block)
      } else if (m.phase === 'reduce') {
        const reduced = reducerOf(ready as Loaded, m.index).part()
        if (!s.parts) {
          cpu.reduce += threadCpuSeconds() - c0
          return port.postMessage({ kind: 'counts', counts: shardCounts(reduced), cpu } satisfies ThreadReply)
        }
        const part = shardPartToBytes(reduced, partHashing)
        cpu.reduce += threadCpuSeconds() - c0
        port.postMessage({ kind: 'part', part, cpu } satisfies ThreadReply, [part.buffer as ArrayBuffer])
      } else if (m.phase === 'sum') {
        const sum = addShardCounts((ready as Loaded).key, m.counts)
        const result = corpusResult(sum.accumulator, { texts: sum.texts, filter: sum.filter, alpha: m.alpha })
        cpu.merge += threadCpuSeconds() - c0
        port.postMessage({ kind: 'summed', result, cpu } satisfies ThreadReply)
      } else {
        const result = mergedResult(mergeParts((ready as Loaded).key, m.parts), { alpha: m.alpha })
        cpu.merge += threadCpuSeconds() - c0
        port.postMessage({ kind: 'merged', result, parts: m.parts, cpu } satisfies ThreadReply, m.parts.map((b) => b.buffer as ArrayBuffer))
      }
    } catch (e) {
      port.postMessage({ kind: 'error', error: message(e) } satisfies ThreadReply)
    }
    if (phase === 'route') cpu.route += threadCpuSeconds() - c0
    else if (m.phase === 'replay') cpu.reduce += threadCpuSeconds() - c0
  })
}
