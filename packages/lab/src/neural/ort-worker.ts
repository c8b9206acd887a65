/**
 * Worker thread that owns the onnxruntime-node session of a causal LM exported in the transformers.js /
 * Optimum GPT-2 layout (input_ids, attention_mask, position_ids, past_key_values.N.key|value → logits,
 * present.N.key|value), and its KV cache.
 *
 * onnxruntime-node only runs sessions asynchronously, while the lab's LanguageModel is synchronous (every
 * sampler, attack and evaluation loop calls `logits(context)` inline). The caller posts a context and
 * blocks on Atomics.wait; this thread runs the session, posts the last position's logits and wakes it
 * (the synckit pattern). The cache keeps the (key, value) tensors of the last sequence run: a request that
 * extends it runs only the new tokens; one that shares a prefix keeps the prefix's rows.
 */
import { type MessagePort, workerData } from 'node:worker_threads'
import * as ort from 'onnxruntime-node'

export interface OrtWorkerData {
  modelPath: string
  nLayer: number
  nHead: number
  headDim: number
  vocabSize: number
  /** Int32Array(1) over a SharedArrayBuffer: the sequence number of the last reply posted. */
  flag: SharedArrayBuffer
  port: MessagePort
}

/** A request: the ids of the whole window (at most n_positions), position 0 first. */
export interface OrtRequest {
  /** Sequence number, echoed in the reply and stored in the flag once the reply is posted. */
  seq: number
  ids: Int32Array
  /** Reply with the logits of every position run (rows [ran, vocab]) instead of the last one only. */
  all?: boolean
}

export type OrtReply = { seq: number } & ({ logits: Float32Array; ran: number } | { error: string })

const data = workerData as OrtWorkerData
const flag = new Int32Array(data.flag)
const sessionPromise = ort.InferenceSession.create(data.modelPath, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
})

let seq: Int32Array = new Int32Array(0)
let past: Float32Array[] = [] // 2 per layer: key, value, each [1, nHead, seq.length, headDim]
let lastLogits: Float32Array | undefined

/** Rows [0, keep) of a [1, H, T, D] cache tensor. */
function trim(t: Float32Array, T: number, keep: number): Float32Array {
  if (keep === T) return t
  const { nHead: H, headDim: D } = data
  const out = new Float32Array(H * keep * D)
  for (let h = 0; h < H; h++) out.set(t.subarray(h * T * D, h * T * D + keep * D), h * keep * D)
  return out
}

async function run(ids: Int32Array, all: boolean): Promise<{ logits: Float32Array; ran: number }> {
  const session = await sessionPromise
  const n = ids.length
  let p = 0
  while (p < n && p < seq.length && seq[p] === ids[p]) p++
  if (!all && p === n && n === seq.length && lastLogits !== undefined) return { logits: lastLogits, ran: 0 }
  if (all) p = 0 // every position's logits are wanted: run the whole window
  else if (p === n) p = n - 1 // the last position's logits are not kept for a shorter prefix: rerun it
  const { nLayer, nHead: H, headDim: D, vocabSize: V } = data
  const feeds: Record<string, ort.Tensor> = {}
  const m = n - p
  const inputIds = new BigInt64Array(m)
  const positions = new BigInt64Array(m)
  for (let j = 0; j < m; j++) {
    inputIds[j] = BigInt(ids[p + j])
    positions[j] = BigInt(p + j)
  }
  feeds.input_ids = new ort.Tensor('int64', inputIds, [1, m])
  feeds.position_ids = new ort.Tensor('int64', positions, [1, m])
  feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n])
  for (let l = 0; l < nLayer; l++) {
    const k = p === 0 ? new Float32Array(0) : trim(past[2 * l], seq.length, p)
    const v = p === 0 ? new Float32Array(0) : trim(past[2 * l + 1], seq.length, p)
    feeds[`past_key_values.${l}.key`] = new ort.Tensor('float32', k, [1, H, p, D])
    feeds[`past_key_values.${l}.value`] = new ort.Tensor('float32', v, [1, H, p, D])
  }
  const out = await session.run(feeds)
  const logits = out.logits.data as Float32Array
  const next: Float32Array[] = []
  for (let l = 0; l < nLayer; l++) {
    next.push(out[`present.${l}.key`].data as Float32Array, out[`present.${l}.value`].data as Float32Array)
  }
  past = next
  seq = ids.slice()
  lastLogits = logits.slice((m - 1) * V, m * V)
  return { logits: all ? logits : lastLogits, ran: m }
}

data.port.on('message', (req: OrtRequest) => {
  run(req.ids, req.all === true).then(
    (r) => data.port.postMessage({ seq: req.seq, ...r } satisfies OrtReply),
    (e: unknown) => data.port.postMessage({ seq: req.seq, error: e instanceof Error ? e.message : String(e) } satisfies OrtReply),
  ).finally(() => {
    Atomics.store(flag, 0, req.seq)
    Atomics.notify(flag, 0)
  })
})
