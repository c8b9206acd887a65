/**
 * A pool of worker threads for detection, so a large batch does not hold the event loop (health checks
 * and other tenants' requests keep being served) and detection uses more than one core. Size 0 runs
 * detect() inline (the default for buildServer, and the only mode when running from TypeScript source).
 */
import { Worker } from 'node:worker_threads'
import { TokenmarkError, type TokenmarkErrorCode, type WatermarkKey } from '@tokenmark/core'
import { detectReplyBody } from './detect-reply.js'

export interface DetectRunOptions {
  alpha?: number
  window?: boolean
  dedup?: boolean
  normalize?: boolean
  marks?: boolean
}

export interface WorkerRequest {
  id: number
  /** ref identifies a key within the server (tenant + key id); file is sent the first time only. */
  keys: { ref: string; file?: string }[]
  texts: string[]
  /** Reply with `{ results }` (a batch) rather than the one result. */
  batch: boolean
  options: DetectRunOptions
}

export type WorkerReply =
  | { id: number; body: string; error?: undefined }
  | { id: number; error: { name: string; code?: string; message: string }; body?: undefined }

interface Slot {
  worker: Worker
  pending: Map<number, { resolve: (body: string) => void; reject: (e: Error) => void }>
  known: Set<string>
}

export class DetectPool {
  readonly size: number
  /** Called once if the pool gives up on workers and detects inline from then on. */
  onDegraded?: (err: Error) => void
  readonly #slots: Slot[] = []
  #next = 0
  #closed = false
  /** Times of recent worker deaths; too many in a minute and the pool falls back to inline detection. */
  #deaths: number[] = []
  #inline = false

  constructor(size: number) {
    this.size = Math.max(0, Math.floor(size))
    for (let i = 0; i < this.size; i++) this.#slots.push(this.#spawn())
  }

  #spawn(): Slot {
    const worker = new Worker(new URL('./detect-worker.js', import.meta.url))
    const slot: Slot = { worker, pending: new Map(), known: new Set() }
    worker.on('message', (m: WorkerReply) => {
      const p = slot.pending.get(m.id)
      if (!p) return
      slot.pending.delete(m.id)
      if (m.error) {
        p.reject(m.error.name === 'TokenmarkError' ? new TokenmarkError(m.error.code as TokenmarkErrorCode, m.error.message) : new Error(m.error.message))
      } else p.resolve(m.body)
    })
    const fail = (err: Error) => {
      for (const p of slot.pending.values()) p.reject(err)
      slot.pending.clear()
      const i = this.#slots.indexOf(slot)
      if (this.#closed || i < 0) return
      const now = Date.now()
      this.#deaths = [...this.#deaths.filter((t) => now - t < 60_000), now]
      if (this.#deaths.length > 5) {
        // Workers keep dying (e.g. the worker file cannot load): detect inline rather than respawn forever.
        this.#inline = true
        this.onDegraded?.(err)
        return
      }
      // Replace a dead worker so later requests still have one.
      this.#slots[i] = this.#spawn()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`detection worker exited with code ${code}`)))
    return slot
  }

  /**
   * Detects every text against `keys` (refs identify keys across requests) and resolves to the reply body:
   * the JSON of the one result, or of `{ results }` when `batch` (see detect-reply.ts).
   */
  async run(keys: { ref: string; key: WatermarkKey }[], texts: string[], options: DetectRunOptions, batch: boolean): Promise<string> {
    if (this.size === 0 || this.#closed || this.#inline) {
      return detectReplyBody(keys.map((k) => k.key), texts, options, batch)
    }
    // Least pending first; ties in round-robin order.
    let best = this.#slots[this.#next++ % this.size]
    for (const s of this.#slots) if (s.pending.size < best.pending.size) best = s
    const slot = best
    const id = this.#next++
    const req: WorkerRequest = {
      id,
      keys: keys.map((k) => (slot.known.has(k.ref) ? { ref: k.ref } : { ref: k.ref, file: k.key.toKeyFile() })),
      texts,
      batch,
      options,
    }
    for (const k of keys) slot.known.add(k.ref)
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject })
      slot.worker.postMessage(req)
    })
  }

  async close(): Promise<void> {
    this.#closed = true
    await Promise.all(this.#slots.map((s) => s.worker.terminate()))
  }
}
