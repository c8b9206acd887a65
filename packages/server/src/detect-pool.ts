/**
 * The work pool: worker threads that run detection, case scoring and evidence building off the event
 * loop, so no request holds health checks or other tenants' requests (issue 12), and detection uses more
 * than one core. Size 0 runs tasks inline (the default for buildServer, and the only mode when running
 * from TypeScript source).
 *
 * Fairness: a request is split into tasks (one text, one chunk of samples, one bundle) queued per tenant;
 * an idle worker takes the next task of the next tenant in round-robin order, so one tenant's 64-text ×
 * 300-key request delays another tenant's detection by at most one task, not by the whole request.
 *
 * Time budget: every job (the tasks of one request) has a deadline. When it passes, the request fails
 * with 503 E_TIMEOUT, its queued tasks are dropped and a worker still running one of them is terminated
 * and replaced: the work is abandoned, not left to finish in the background.
 */
import { Worker } from 'node:worker_threads'
import { TokenmarkError, type TokenmarkErrorCode } from '@tokenmark/core'
import { ServerError } from './errors.js'
import { runTask, type DetectRunOptions, type KeyRef, type Task, type WireTask, type WorkerReply } from './pool-tasks.js'

export type { DetectRunOptions, KeyRef } from './pool-tasks.js'

export interface PoolOptions {
  /** Tasks waiting at once, all tenants together; beyond it requests are refused with 503 (default 100,000). */
  maxQueued?: number
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
  readonly #stats: PoolStats = { tasks: { detect: 0, score: 0, bundle: 0 }, abandoned: 0, queued: 0 }

  constructor(size: number, opts: PoolOptions = {}) {
    this.size = Math.max(0, Math.floor(size))
    this.#maxQueued = opts.maxQueued ?? 100_000
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
      return Promise.resolve(tasks.map((t) => this.#runInline(t)))
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
   * Detects every text against `keys` and resolves to the reply body: the JSON of the one result, or of
   * `{ results }` when `batch`. Each text is its own task; the batch body is the results' JSON joined,
   * which is what serialising `{ results }` with the reply schema writes (detect-reply.ts).
   */
  async run(keys: KeyRef[], texts: string[], options: DetectRunOptions, batch: boolean, tenantId = '', deadline = Date.now() + 30_000): Promise<string> {
    const parts = (await this.runAll(
      tenantId,
      texts.map((text) => ({ kind: 'detect' as const, keys, text, options })),
      deadline,
    )) as string[]
    return batch ? `{"results":[${parts.join(',')}]}` : parts[0]
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
