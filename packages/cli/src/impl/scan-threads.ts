/**
 * `scan --workers N`: the queue's two phases (worker.ts: route blocks of texts, then reduce shards;
 * docs/spec.md#shards) on N threads of this process, for one machine with several cores.
 *
 * This thread only reads: it cuts the corpus into ~1 MB blocks at line ends (corpus-blocks.ts) and hands each
 * to the least busy thread (at most two queued per thread) while the file is still being read, with the
 * block's first corpus position (its texts are counted without parsing). Each thread parses its blocks and
 * routes their texts (normalise, tokenize, PRF) into per-shard event blocks, which move (transferred, not
 * copied) to the thread that owns their shard and are replayed there in corpus order as soon as every earlier
 * block has been: routing and de-duplication overlap, and no thread waits for the slowest router before it
 * starts its shard. When --prompts names texts by id, a block holding such ids waits for this thread to match
 * them in corpus order (PromptMatcher, as readCorpus); the prompts no text took are excluded before any text,
 * as a local scan excludes them, so with --prompts the blocks are replayed only once the corpus is read, after
 * a block of those prompts. Then each thread gives its shard's counts (or, with --parts-out, its `.tmacc` part)
 * and thread 0 adds them up into the result this thread prints — what `scan` prints (with --parts-out, what
 * `scan --shards` prints).
 *
 * This thread never loads core (nothing here imports it at run time): the threads load the key, tokenizer and
 * filter (each ~0.3 s of compiling and table building), and their errors are the scan's, after the corpus's,
 * in `scan`'s order.
 */
import { Worker } from 'node:worker_threads'
import { BLOCK_BYTES, blockBytes, CorpusCheck, textsIn, type CorpusBlock } from '../corpus-blocks.js'
import { PromptMatcher, readPromptsFile } from '../corpus.js'
import { CliError } from '../errors.js'
import { writePartFiles } from './part-file.js'
import type { ScanOptions } from './scan.js'
import { nothingScored, printMerged, printSplit } from './scan-print.js'
import type { Routed, ThreadCpu, ThreadMessage, ThreadReply, ThreadSetup } from './scan-thread.js'
import { threadCpuSeconds } from '../timing.js'

/** Blocks handed to a thread and not yet routed: one at work, one waiting, so a thread never idles for the reader. */
const QUEUED = 2

/**
 * TOKENMARK_SCAN_PHASES=1 adds one stderr line `tokenmark-phases {json}` after the result: when each phase ended
 * (seconds since the process started) and each thread's CPU seconds by phase (bench/shard-cli.mjs).
 */

export async function runThreads(paths: string[], o: ScanOptions): Promise<void> {
  const n = o.workers as number
  // The prompts file first (it is small): texts whose id it names wait for the match.
  let matcher: PromptMatcher | undefined
  let promptsError: CliError | undefined
  if (o.prompts !== undefined) {
    try {
      matcher = new PromptMatcher(readPromptsFile(o.prompts))
    } catch (e) {
      if (!(e instanceof CliError)) throw e
      promptsError = e
    }
  }
  const setup: ThreadSetup = { keyFile: o.key, count: n, tokenizer: o.tokenizer, normalize: o.normalize, filterFile: o.filter, promptIds: matcher?.ids() ?? [], parts: o.partsOut !== undefined }
  const threads = Array.from({ length: n }, () => new ScanThread(setup))
  // Seconds since the process started at which each phase ended (TOKENMARK_SCAN_PHASES prints them).
  const marks: Record<string, number> = { threadsStarted: performance.now() / 1000 }
  try {
    const check = new CorpusCheck(paths, o.split)
    // Each routed block's events go to the threads that own their shards, in corpus order, to be replayed at
    // once — unless --prompts is given: the prompts no text takes are excluded before every text, and which
    // those are is known only when the whole corpus has been read, so then the blocks wait.
    const replay = (r: Routed) => threads.forEach((t, i) => t.send({ phase: 'replay', index: i, block: { events: r.events[i], counts: r.counts, corpus: r.corpus } }, [r.events[i].buffer as ArrayBuffer]))
    const route = await routeAll(threads, check, o, matcher, marks, matcher === undefined ? replay : undefined)
    marks.routed = performance.now() / 1000
    const error = check.error() ?? promptsError ?? (route.setupError !== undefined ? new CliError(route.setupError) : undefined)
    if (error !== undefined) throw error
    const globalPrompts = matcher?.rest() ?? []
    if (matcher !== undefined) {
      if (globalPrompts.length > 0) replay(((await threads[0].ask({ phase: 'prompts', prompts: globalPrompts })) as { routed: Routed }).routed)
      for (const b of route.blocks) replay(b)
    }
    const input = check.input(route.withPrompts, globalPrompts.length)

    const cpu: ThreadCpu[] = []
    const replies = await Promise.all(
      threads.map(async (t, i) => {
        const reply = (await t.ask({ phase: 'reduce', index: i })) as Extract<ThreadReply, { kind: 'part' | 'counts' }>
        cpu[i] = reply.cpu
        return reply
      }),
    )
    marks.reduced = performance.now() / 1000
    // Without --parts-out no part is kept, so none is serialised, hashed or named: the shards' counts add up.
    const parts = o.partsOut === undefined ? undefined : replies.map((r) => (r as Extract<ThreadReply, { kind: 'part' }>).part)
    const reply = (
      parts === undefined
        ? await threads[0].ask({ phase: 'sum', counts: replies.map((r) => (r as Extract<ThreadReply, { kind: 'counts' }>).counts), alpha: o.alpha })
        : await threads[0].ask({ phase: 'merge', parts, alpha: o.alpha }, parts.map((p) => p.buffer as ArrayBuffer))
    ) as Extract<ThreadReply, { kind: 'summed' | 'merged' }>
    cpu[0] = reply.cpu
    marks.merged = performance.now() / 1000
    const r = reply.result
    if (r.texts !== input.texts) throw new CliError(`threads read ${r.texts} texts, the corpus has ${input.texts}`)
    if (r.tokensScored === 0) throw nothingScored(r.tokensTotal, 'the corpus')
    if (reply.kind === 'merged') {
      writePartFiles(o.partsOut as string, reply.parts.map((bytes, i) => ({ sha256: reply.result.shards.hashes[i], bytes })))
      printMerged(reply.result, o.json === true, input)
    } else printSplit(r, n, o.json === true, input)
    if (process.env.TOKENMARK_SCAN_PHASES !== undefined) process.stderr.write(`tokenmark-phases ${JSON.stringify({ wall: marks, threadCpu: cpu, mainCpu: threadCpuSeconds() })}\n`)
  } finally {
    await Promise.all(threads.map((t) => t.stop()))
  }
}

interface BlockState {
  thread: ScanThread
  file: number
  parsed?: Extract<ThreadReply, { kind: 'parsed' }>
  routed?: Routed
  done: boolean
}

/**
 * Phase 1: every block read, handed out, parsed and (unless the scan has failed) routed. Resolves with the
 * routed blocks in corpus order, the texts that had a prompt, and a thread's load error.
 */
function routeAll(
  threads: ScanThread[],
  check: CorpusCheck,
  o: ScanOptions,
  matcher: PromptMatcher | undefined,
  marks: Record<string, number>,
  replay?: (r: Routed) => void,
): Promise<{ blocks: Routed[]; withPrompts: number; setupError?: string }> {
  return new Promise((resolve, reject) => {
    const reader = check.blocks(o.format, blockBytes(BLOCK_BYTES), threads.length)
    const states: BlockState[] = []
    const queued = new Map<ScanThread, number>(threads.map((t) => [t, 0]))
    let from = 0
    let exhausted = false
    let matchedTo = 0 // blocks before this one have had their --prompts ids matched
    let withPrompts = 0
    let setupError: string | undefined
    let replayed = 0 // blocks before this one have been handed to `replay` (or had nothing routed)

    const finish = () => {
      if (!exhausted || states.some((s) => !s.done)) return
      resolve({ blocks: states.flatMap((s) => (s.routed ? [s.routed] : [])), withPrompts, setupError })
    }
    const handOut = () => {
      for (;;) {
        let t: ScanThread | undefined
        for (const [u, k] of queued) if (k < QUEUED && (t === undefined || k < (queued.get(t) as number))) t = u
        if (t === undefined || exhausted) return finish()
        const next = reader.next()
        if (next.done === true) {
          exhausted = true
          return finish()
        }
        const block: CorpusBlock = next.value
        const seq = states.length
        states.push({ thread: t, file: block.file, done: false })
        queued.set(t, (queued.get(t) as number) + 1)
        const texts = textsIn(block)
        t.send({ phase: 'block', seq, from, block, check: check.failing }, 'bytes' in block ? [block.bytes.buffer as ArrayBuffer] : [])
        from += texts
      }
    }
    const done = (seq: number) => {
      const s = states[seq]
      s.done = true
      queued.set(s.thread, (queued.get(s.thread) as number) - 1)
      if (replay !== undefined)
        for (; replayed < states.length && states[replayed].done; replayed++) {
          const r = states[replayed].routed
          if (r !== undefined) replay(r)
        }
      handOut()
    }
    // Prompts are matched in corpus order: a block's ids once every earlier block is parsed.
    const match = () => {
      while (matchedTo < states.length && states[matchedTo].parsed !== undefined) {
        const s = states[matchedTo]
        const c = s.parsed?.candidates
        if (c !== undefined && matcher !== undefined) {
          const prompts: [number, string][] = []
          for (const [i, id] of c) {
            const p = matcher.claim(id)
            if (p !== undefined) prompts.push([i, p])
          }
          withPrompts += prompts.length
          s.thread.send({ phase: 'assign', seq: matchedTo, prompts })
        }
        matchedTo++
      }
    }
    for (const t of threads)
      t.listen((m) => {
        if (m.kind === 'error') return reject(new CliError(m.error))
        if (m.kind === 'parsed') {
          const s = states[m.seq]
          s.parsed = m
          check.noteBlock(s.file, m.seq, m)
          withPrompts += m.withPrompts
          setupError ??= m.setupError
          if (m.final) done(m.seq)
          match()
        } else if (m.kind === 'routed') {
          marks.firstRouted ??= performance.now() / 1000
          states[m.seq].routed = m.routed
          done(m.seq)
        }
      }, reject)
    handOut()
  })
}

/** One scan thread: messages in, replies to whoever listens (the route phase) or to the one question asked. */
class ScanThread {
  private readonly worker: Worker
  private listener?: (m: ThreadReply) => void
  private failure?: (e: Error) => void

  constructor(setup: ThreadSetup) {
    this.worker = new Worker(new URL('./scan-thread.js', import.meta.url), { workerData: setup })
    this.worker.on('message', (m: ThreadReply) => this.listener?.(m))
    this.worker.on('error', (e) => this.failure?.(e))
    this.worker.on('exit', (code) => this.failure?.(new CliError(`a scan thread stopped (exit code ${code})`, 1)))
  }

  listen(on: (m: ThreadReply) => void, fail: (e: Error) => void): void {
    this.listener = on
    this.failure = fail
  }

  send(m: ThreadMessage, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(m, transfer)
  }

  /** One message, its one reply (an error reply rejects). */
  ask(m: ThreadMessage, transfer: ArrayBuffer[] = []): Promise<ThreadReply> {
    return new Promise((resolve, reject) => {
      this.listen((r) => (r.kind === 'error' ? reject(new CliError(r.error)) : resolve(r)), reject)
      this.send(m, transfer)
    })
  }

  async stop(): Promise<void> {
    this.failure = undefined
    await this.worker.terminate()
  }
}
