/**
 * The work pool: worker threads that run detection, case scoring and evidence building off the event
 * loop, so no request holds health checks or other tenants' requests (issue 12), and detection uses more
 * than one core. Size 0 runs tasks inline (the default for buildServer, and the only mode when running
 * from TypeScript source).
 *
 * Fairness: a request is split into tasks (a chunk of texts, a chunk of samples, one bundle) queued per
 * tenant; an idle worker takes the next task of the next tenant in round-robin order, so one tenant's
 * 64-text × 300-key request delays another tenant's detection by at most one task, not by the whole request.
 *
 * Small detections run inline: since tokenizing is linear for any input (core's bounded BPE,
 * docs/spec.md#tokenizer-bound), a request whose work estimate (detectWork) is at most `inlineWork` costs
 * less on the event loop than handing it to a worker and back (two structured-clone messages, two thread
 * wake-ups), and at the default bound it holds the event loop for a few milliseconds at worst, well under
 * the ~100 ms /healthz budget (README "Work pool" gives the measured per-byte costs). Larger requests are
 * cut into tasks of at most `chunkWork` each, one worker message per task, not one per text.
 *
 * Time budget: every job (the tasks of one request) has a deadline. When it passes, the request fails
 * with 503 E_TIMEOUT, its queued tasks are dropped and a worker still running one of them is terminated
 * and replaced: the work is abandoned, not left to finish in the background.
 */
import { Worker } from 'node:worker_threads'
import { TokenmarkError, type TokenmarkErrorCode } from '@tokenmark/core'
import { ServerError } from './errors.js'
import { detectReplyJson } from './detect-reply.js'
import { runTask, type DetectRunOptions, type KeyRef, type Task, type WireTask, type WorkerReply } from './pool-tasks.js'

export type { DetectRunOptions, KeyRef } from './pool-tasks.js'

export interface PoolOptions {
  /** Tasks waiting at once, all tenants together; beyond it requests are refused with 503 (default 100,000). */
  maxQueued?: number
  /**
   * Detection requests whose work (detectWork) is at most this run on the event loop instead of a worker
   * (default 0: never; the server passes its `inlineDetectWork` limit).
   */
  inlineWork?: number
  /** Detection work per worker task: a batch is cut into chunks of texts of at most this much (default 64 Ki; one text at least). */
  chunkWork?: number
}

/**
 * The work estimate of detecting `texts` against `keys` keys, in byte-keys: UTF-8 bytes × keys, doubled
 * for a window search and for per-token marks (each roughly doubles the time, measured on prose).
 * Tokenizing and scoring are linear in the bytes for any input, so this bounds the time up to the worst
 * input's per-byte constant (README "Work pool").
 */
export function detectWork(bytes: number, keys: number, options: DetectRunOptions): number {
  return bytes * keys * (options.window ? 2 : 1) * (options.marks ? 2 : 1)
}

/** One request's tasks: fails as a whole (first error, or its deadline). */
interface Job {
  done: boolean
  fail: (e: Error) => void
}

interface Queued {
  task: Task
  job: Job
  resolve: (result: unknown) => void
  reject: (e: Error) => void
}

interface Slot {
  worker: Worker
  /** Tasks posted to the worker and not yet answered, oldest first (at most PREFETCH). */
  running: (Queued & { id: number })[]
  known: Set<string>
}

/**
 * Tasks a worker holds at once: the one it runs and the next, so it never idles while the event loop
 * (busy with HTTP) gets round to handing it more work. Fairness suffers by at most that one task.
 */
const PREFETCH = 2

export interface PoolStats {
  /** Tasks run, by kind, since start. */
  tasks: Record<Task['kind'], number>
  /** Workers terminated because the job of the task they were running ran out of time. */
  abandoned: number
  /** Tasks waiting now. */
  queued: number
  /** Detection requests run on the event loop because their work was within the inline bound (counted in `tasks.detect` too). */
  inline: number
}

export class DetectPool {
  readonly size: number
  /** Called once if the pool gives up on workers and runs tasks inline from then on. */
  onDegraded?: (err: Error) => void
  readonly #slots: Slot[] = []
  /** Waiting tasks per tenant; `#order` is the round-robin order of tenants with waiting tasks. */
  readonly #queues = new Map<string, Queued[]>()
  readonly #order: string[] = []
  #queued = 0
  readonly #maxQueued: number
  #nextId = 0
  #closed = false
  /** Times of recent worker deaths; too many in a minute and the pool falls back to inline work. */
  #deaths: number[] = []
  #inline = false
  readonly #stats: PoolStats = { tasks: { detect: 0, score: 0, bundle: 0 }, abandoned: 0, queued: 0, inline: 0 }
  readonly #inlineWork: number
  readonly #chunkWork: number

  constructor(size: number, opts: PoolOptions = {}) {
    this.size = Math.max(0, Math.floor(size))
    this.#maxQueued = opts.maxQueued ?? 100_000
    this.#inlineWork = opts.inlineWork ?? 0
    this.#chunkWork = opts.chunkWork ?? 64 * 1024
    for (let i = 0; i < this.size; i++) this.#slots.push(this.#spawn())
  }

  stats(): PoolStats {
    return { ...this.#stats, tasks: { ...this.#stats.tasks }, queued: this.#queued }
  }

  #spawn(): Slot {
    const worker = new Worker(new URL('./detect-worker.js', import.meta.url))
    const slot: Slot = { worker, running: [], known: new Set() }
    worker.on('message', (m: WorkerReply) => {
      const q = slot.running[0]
      if (!q || q.id !== m.id) return
      slot.running.shift()
      if (m.error) {
        q.reject(m.error.name === 'TokenmarkError' ? new TokenmarkError(m.error.code as TokenmarkErrorCode, m.error.message) : new Error(m.error.message))
      } else q.resolve(m.result)
      this.#pump()
    })
    let failed = false
    const fail = (err: Error) => {
      if (failed) return
      failed = true
      const lost = slot.running
      slot.running = []
      for (const q of lost) q.reject(err)
      const i = this.#slots.indexOf(slot)
      if (this.#closed || i < 0) return
      const now = Date.now()
      this.#deaths = [...this.#deaths.filter((t) => now - t < 60_000), now]
      if (this.#deaths.length > 5) {
        // Workers keep dying (e.g. the worker file cannot load): work inline rather than respawn forever.
        this.#inline = true
        this.#slots.splice(i, 1)
        this.onDegraded?.(err)
        this.#drainInline()
        return
      }
      // Replace a dead worker so later requests still have one.
      this.#slots[i] = this.#spawn()
      this.#pump()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`pool worker exited with code ${code}`)))
    return slot
  }

  /**
   * Runs a request's tasks for `tenantId`, fairly queued with every other tenant's, and resolves to their
   * results in order. Rejects with the first task error, or 503 E_TIMEOUT at `deadline` (epoch ms).
   */
  runAll(tenantId: string, tasks: Task[], deadline: number): Promise<unknown[]> {
    if (this.size === 0 || this.#closed || this.#inline) {
      // Inline: on the event loop, in order (no fairness possible without threads).
      try {
        return Promise.resolve(tasks.map((t) => this.#runInline(t)))
      } catch (e) {
        return Promise.reject(e as Error)
      }
    }
    if (this.#queued + tasks.length > this.#maxQueued) {
      return Promise.reject(new ServerError('E_UNAVAILABLE', 'the server is busy with other requests; retry shortly'))
    }
    return new Promise<unknown[]>((resolve, reject) => {
      const results: unknown[] = new Array(tasks.length)
      let left = tasks.length
      const job: Job = {
        done: false,
        fail: (e) => {
          if (job.done) return
          job.done = true
          clearTimeout(timer)
          this.#abandon(job)
          reject(e)
        },
      }
      const budget = Math.max(0, deadline - Date.now())
      const timer = setTimeout(
        () => job.fail(new ServerError('E_TIMEOUT', `the request's work did not finish within its time budget of ${Math.round(budget / 1000)} s; send less per request (fewer texts, keys or samples)`)),
        budget,
      )
      if (tasks.length === 0) {
        job.done = true
        clearTimeout(timer)
        return resolve(results)
      }
      let q = this.#queues.get(tenantId)
      if (!q) {
        q = []
        this.#queues.set(tenantId, q)
        this.#order.push(tenantId)
      }
      tasks.forEach((task, i) => {
        q.push({
          task,
          job,
          resolve: (r) => {
            if (job.done) return
            results[i] = r
            if (--left === 0) {
              job.done = true
              clearTimeout(timer)
              resolve(results)
            }
          },
          reject: (e) => job.fail(e),
        })
      })
      this.#queued += tasks.length
      this.#pump()
    })
  }

  /**
   * Detects every text against `keys`: the reply body, the JSON of the one result or of `{ results }`
   * when `batch`. Within the inline bound the detection runs here, on the event loop, and the body is
   * returned at once (errors thrown), so the route answers in the same turn without a promise;
   * otherwise the texts go to the workers in chunks of at most `chunkWork` (detect-reply.ts joins them)
   * and the body comes as a promise.
   */
  run(keys: KeyRef[], texts: string[], options: DetectRunOptions, batch: boolean, tenantId = '', deadline = Date.now() + 30_000): string | Promise<string> {
    const n = keys.length
    const bytes = new Array<number>(texts.length)
    let total = 0
    for (let i = 0; i < texts.length; i++) total += detectWork((bytes[i] = Buffer.byteLength(texts[i], 'utf8')), n, options)
    if (total <= this.#inlineWork) {
      this.#stats.inline++
      return detectReplyJson([this.#runInline({ kind: 'detect', keys, texts, options }) as string], batch)
    }
    const tasks: Task[] = []
    let start = 0
    let work = 0
    for (let i = 0; i < texts.length; i++) {
      const w = detectWork(bytes[i], n, options)
      if (i > start && work + w > this.#chunkWork) {
        tasks.push({ kind: 'detect', keys, texts: texts.slice(start, i), options })
        start = i
        work = 0
      }
      work += w
    }
    tasks.push({ kind: 'detect', keys, texts: texts.slice(start), options })
    return this.runAll(tenantId, tasks, deadline).then((parts) => detectReplyJson(parts as string[], batch))
  }

  #runInline(task: Task): unknown {
    this.#stats.tasks[task.kind]++
    return runTask(task, task.keys.map((k) => k.key))
  }

  /** Hands waiting tasks to idle workers, one tenant after another. */
  #pump(): void {
    // Fill every worker's first place before any second one, so work spreads over the workers.
    for (let depth = 1; depth <= PREFETCH; depth++) for (const slot of this.#slots) if (slot.running.length < depth && !this.#post(slot)) return
  }

  /** Posts the next waiting task to `slot`; false when nothing waits. */
  #post(slot: Slot): boolean {
    {
      const next = this.#take()
      if (!next) return false
      const id = this.#nextId++
      slot.running.push({ ...next, id })
      const { keys, ...rest } = next.task
      const wire = { ...rest, id, keys: keys.map((k) => (slot.known.has(k.ref) ? { ref: k.ref } : { ref: k.ref, file: k.key.toKeyFile() })) } as WireTask
      for (const k of keys) slot.known.add(k.ref)
      this.#stats.tasks[next.task.kind]++
      slot.worker.postMessage(wire)
    }
    return true
  }

  /** The next live task in round-robin order of tenants; tasks of finished (failed, timed-out) jobs are dropped. */
  #take(): Queued | undefined {
    while (this.#order.length > 0) {
      const tenant = this.#order.shift()!
      const q = this.#queues.get(tenant)!
      let item: Queued | undefined
      while (q.length > 0 && !item) {
        const head = q.shift()!
        this.#queued--
        if (!head.job.done) item = head
      }
      if (q.length > 0) this.#order.push(tenant)
      else this.#queues.delete(tenant)
      if (item) return item
    }
    return undefined
  }

  /**
   * Stops a job's running tasks by replacing their workers (queued ones are dropped by #take). Another
   * job's task that the worker held goes back to the front of its tenant's queue.
   */
  #abandon(job: Job): void {
    for (let i = 0; i < this.#slots.length; i++) {
      const slot = this.#slots[i]
      if (!slot.running.some((q) => q.job === job)) continue
      for (const q of slot.running) if (q.job !== job && !q.job.done) this.#requeue(q)
      slot.running = []
      this.#stats.abandoned++
      slot.worker.removeAllListeners('exit')
      slot.worker.removeAllListeners('error')
      void slot.worker.terminate()
      this.#slots[i] = this.#spawn()
    }
    this.#pump()
  }

  #requeue(q: Queued): void {
    const { task, job, resolve, reject } = q
    const tenant = [...this.#queues.entries()].find(([, list]) => list.some((x) => x.job === job))?.[0]
    // The job's tenant: found through its other waiting tasks, else a queue of its own at the front.
    const key = tenant ?? `\0requeued${this.#nextId++}`
    let list = this.#queues.get(key)
    if (!list) {
      list = []
      this.#queues.set(key, list)
      this.#order.unshift(key)
    }
    list.unshift({ task, job, resolve, reject })
    this.#queued++
  }

  /** After degrading to inline work: runs what was waiting. */
  #drainInline(): void {
    for (let item = this.#take(); item; item = this.#take()) {
      try {
        item.resolve(this.#runInline(item.task))
      } catch (e) {
        item.reject(e as Error)
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    for (let item = this.#take(); item; item = this.#take()) item.reject(new ServerError('E_UNAVAILABLE', 'the server is shutting down'))
    await Promise.all(this.#slots.map((s) => s.worker.terminate()))
  }
}
