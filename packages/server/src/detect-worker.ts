/**
 * Worker thread of the detection pool (detect-pool.ts): runs core's detect() off the event loop and
 * replies with the serialised reply body.
 * Keys arrive once per worker as key-file text (the same process's memory; never logged) and are kept
 * parsed by reference.
 */
import { parentPort } from 'node:worker_threads'
import { parseKeyFile, TokenmarkError, type WatermarkKey } from '@tokenmark/core'
import type { WorkerReply, WorkerRequest } from './detect-pool.js'
import { detectReplyBody } from './detect-reply.js'

const keys = new Map<string, WatermarkKey>()

parentPort?.on('message', (msg: WorkerRequest) => {
  let reply: WorkerReply
  try {
    for (const k of msg.keys) if (k.file !== undefined && !keys.has(k.ref)) keys.set(k.ref, parseKeyFile(k.file))
    const ring = msg.keys.map((k) => {
      const key = keys.get(k.ref)
      if (!key) throw new Error(`worker lacks key ${k.ref}`)
      return key
    })
    reply = { id: msg.id, body: detectReplyBody(ring, msg.texts, msg.options, msg.batch) }
  } catch (e) {
    reply = {
      id: msg.id,
      error: { name: e instanceof TokenmarkError ? 'TokenmarkError' : 'Error', code: (e as { code?: string }).code, message: (e as Error).message },
    }
  }
  parentPort?.postMessage(reply)
})
