/**
 * Worker thread of the work pool (detect-pool.ts): runs a task (pool-tasks.ts) off the event loop and
 * replies with its result. Keys arrive once per worker as key-file text (the same process's memory; never
 * logged) and are kept parsed by reference.
 */
import { parentPort } from 'node:worker_threads'
import { parseKeyFile, TokenmarkError, type WatermarkKey } from '@tokenmark/core'
import { runTask, type WireTask, type WorkerReply } from './pool-tasks.js'

const keys = new Map<string, WatermarkKey>()

parentPort?.on('message', (msg: WireTask) => {
  let reply: WorkerReply
  const transfer: ArrayBuffer[] = []
  try {
    for (const k of msg.keys) if (k.file !== undefined && !keys.has(k.ref)) keys.set(k.ref, parseKeyFile(k.file))
    const ring = msg.keys.map((k) => {
      const key = keys.get(k.ref)
      if (!key) throw new Error(`worker lacks key ${k.ref}`)
      return key
    })
    const result = runTask(msg, ring)
    // Byte results (accumulators, bundles) move to the event loop without a copy.
    const bytes = (result as { delta?: Uint8Array; bytes?: Uint8Array } | null)?.delta ?? (result as { bytes?: Uint8Array } | null)?.bytes
    if (bytes instanceof Uint8Array && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) transfer.push(bytes.buffer as ArrayBuffer)
    reply = { id: msg.id, result }
  } catch (e) {
    reply = {
      id: msg.id,
      error: { name: e instanceof TokenmarkError ? 'TokenmarkError' : 'Error', code: (e as { code?: string }).code, message: (e as Error).message },
    }
  }
  parentPort?.postMessage(reply, transfer)
})
