/**
 * The neural reference model: a small GPT-2-architecture transformer trained here (models/tinylm, made by
 * scripts/neural/train.sh; see its train-record.json), run by onnxruntime-node with a KV cache, behind
 * the same synchronous LanguageModel interface as the n-gram model, so generation, attacks, the evaluation
 * grid and distillation use either unchanged.
 *
 * - A context is read as a document: the model sees `<|endoftext|>` and then the context's last
 *   n_positions − 1 tokens (the window it was trained on). Within that window the cache makes a step cost
 *   one token; once a context outgrows it, each step recomputes the whole window (exact, ~n_positions× the
 *   cost), so keep prompt + generation within 255 tokens for speed.
 * - `logits` are natural-log probabilities (log-softmax of the network's output, computed in float64).
 * - The session lives in a worker thread (see ort-worker.ts); call `close()` to end it (it never keeps the
 *   process alive).
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads'
import { huggingFaceTokenizer, type Tokenizer } from '@tokenmark/core'
import { LabError, checkInt } from '../errors.js'
import type { Candidates, LanguageModel, SparseDistribution } from '../ngram.js'
import type { Rng } from '../rng.js'
import type { OrtReply, OrtWorkerData } from './ort-worker.js'

/** The shipped model's folder (repository root models/tinylm), from src/neural or dist/neural alike. */
export function neuralModelDir(): string {
  return fileURLToPath(new URL('../../../../models/tinylm/', import.meta.url))
}

/** config.json fields we read (GPT-2 names). */
interface Gpt2Config {
  vocab_size: number
  n_positions: number
  n_embd: number
  n_layer: number
  n_head: number
  eos_token_id: number
}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'))
  } catch (e) {
    throw new LabError('E_MODEL_FORMAT', `cannot read the neural model's ${what} at ${path} (${(e as Error).message}); pass the folder holding config.json, tokenizer.json and onnx/model.onnx`)
  }
}

/** The tokenizer shipped with a neural model folder (its tokenizer.json, through core's Hugging Face adapter). */
export function neuralTokenizer(dir: string = neuralModelDir()): Tokenizer {
  const json = readJson(join(dir, 'tokenizer.json'), 'tokenizer.json') as object
  return huggingFaceTokenizer(json, 'tinylm')
}

export class NeuralModel implements LanguageModel {
  readonly vocabSize: number
  readonly contextLength: number
  /** `<|endoftext|>`: what the model saw before every training document. */
  readonly eot: number
  /** Tokens run through the network so far (cache hits cost none): the work counter tests bound. */
  tokensRun = 0
  readonly #worker: Worker
  readonly #port: MessageChannel['port1']
  readonly #flag: Int32Array
  #seq = 0
  readonly #logp: Float64Array

  private constructor(dir: string, cfg: Gpt2Config) {
    // onnxruntime-node is an optional peer of this package (package.json): say how to get it, not a stack trace.
    try {
      createRequire(import.meta.url).resolve('onnxruntime-node')
    } catch {
      throw new LabError('E_MODEL_FORMAT', 'the neural model needs onnxruntime-node 1.30.0: npm install onnxruntime-node@1.30.0 --ignore-scripts (its CPU binaries ship in the package)')
    }
    this.vocabSize = cfg.vocab_size
    this.contextLength = cfg.n_positions - 1
    this.eot = cfg.eos_token_id
    this.#logp = new Float64Array(cfg.vocab_size)
    const flag = new SharedArrayBuffer(4)
    this.#flag = new Int32Array(flag)
    const { port1, port2 } = new MessageChannel()
    this.#port = port1
    const data: OrtWorkerData = {
      modelPath: join(dir, 'onnx', 'model.onnx'),
      nLayer: cfg.n_layer,
      nHead: cfg.n_head,
      headDim: cfg.n_embd / cfg.n_head,
      vocabSize: cfg.vocab_size,
      flag,
      port: port2,
    }
    // Always the compiled worker (the same file from src/neural and dist/neural): worker threads cannot run .ts.
    this.#worker = new Worker(new URL('../../dist/neural/ort-worker.js', import.meta.url), { workerData: data, transferList: [port2] })
    this.#worker.unref()
    port1.unref()
  }

  /** Loads a model folder (config.json, onnx/model.onnx); default the shipped models/tinylm. */
  static load(dir: string = neuralModelDir()): NeuralModel {
    const cfg = readJson(join(dir, 'config.json'), 'config.json') as Partial<Gpt2Config>
    for (const k of ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head', 'eos_token_id'] as const) {
      if (!Number.isInteger(cfg[k]) || (cfg[k] as number) < 0) throw new LabError('E_MODEL_FORMAT', `config.json in ${dir} has no integer ${k}; it must be a GPT-2 style config`)
    }
    return new NeuralModel(dir, cfg as Gpt2Config)
  }

  /** The window the network is run on: `<|endoftext|>` then the context's last contextLength tokens. */
  #window(context: Uint32Array): Int32Array {
    const keep = Math.min(context.length, this.contextLength)
    const ids = new Int32Array(keep + 1)
    ids[0] = this.eot
    for (let j = 0; j < keep; j++) {
      const t = context[context.length - keep + j]
      if (t >= this.vocabSize) throw new LabError('E_BAD_INPUT', `token id ${t} is outside the neural model's vocabulary (${this.vocabSize}); encode with neuralTokenizer()`)
      ids[j + 1] = t
    }
    return ids
  }

  /**
   * Raw network output for the next token (one synchronous round trip to the worker); with `all`, the rows
   * for every position of the window, [window length, vocab].
   */
  #run(context: Uint32Array, all = false): Float32Array {
    const seq = (this.#seq = (this.#seq + 1) | 0)
    this.#port.postMessage({ seq, ids: this.#window(context), all })
    let reply: OrtReply | undefined
    // Wait for the flag to reach this request's number, then take its reply off the port; a reply can
    // become visible on the port a moment after the flag moves, so poll briefly (bounded) for it.
    for (let spins = 0; reply === undefined; spins++) {
      const cur = Atomics.load(this.#flag, 0)
      if (cur !== seq) {
        if (Atomics.wait(this.#flag, 0, cur, 600_000) === 'timed-out') {
          throw new LabError('E_MODEL_FORMAT', 'the onnxruntime worker gave no answer in 10 minutes; it may have died')
        }
        continue
      }
      const msg = receiveMessageOnPort(this.#port)
      if (msg !== undefined && (msg.message as OrtReply).seq === seq) reply = msg.message as OrtReply
      else if (msg === undefined) {
        if (spins > 10_000) throw new LabError('E_MODEL_FORMAT', 'the onnxruntime worker did not answer; the model file may be damaged')
        Atomics.wait(this.#flag, 0, seq, 1)
      }
    }
    if ('error' in reply) throw new LabError('E_MODEL_FORMAT', `onnxruntime failed: ${reply.error}`)
    this.tokensRun += reply.ran
    return reply.logits
  }

  /** Natural-log probabilities of every next token, in float64 (shared buffer, valid until the next call). */
  #logProbs(context: Uint32Array): Float64Array {
    const raw = this.#run(context)
    const lp = this.#logp
    let max = -Infinity
    for (let i = 0; i < raw.length; i++) if (raw[i] > max) max = raw[i]
    let sum = 0
    for (let i = 0; i < raw.length; i++) sum += Math.exp(raw[i] - max)
    const lse = max + Math.log(sum)
    for (let i = 0; i < raw.length; i++) lp[i] = raw[i] - lse
    return lp
  }

  logits(context: Uint32Array, out?: Float32Array): Float32Array {
    const lp = this.#logProbs(context)
    const o = out ?? new Float32Array(this.vocabSize)
    for (let i = 0; i < lp.length; i++) o[i] = lp[i]
    return o
  }

  nextTokenDistribution(context: Uint32Array): SparseDistribution {
    const lp = this.#logProbs(context)
    const ids = sortedIds(lp, lp.length)
    const probs = new Float32Array(ids.length)
    for (let j = 0; j < ids.length; j++) probs[j] = Math.exp(lp[ids[j]])
    return { ids, probs, backoff: 0, order: Math.min(context.length, this.contextLength) + 1 }
  }

  topCandidates(context: Uint32Array, k: number): Candidates {
    checkInt('k', k, 1, this.vocabSize)
    const lp = this.#logProbs(context)
    const ids = sortedIds(lp, k)
    const logits = new Float32Array(k)
    for (let j = 0; j < k; j++) logits[j] = lp[ids[j]]
    return { ids, logits }
  }

  sample(context: Uint32Array, rng: Pick<Rng, 'nextFloat'>): number {
    const lp = this.#logProbs(context)
    let u = rng.nextFloat()
    for (let i = 0; i < lp.length; i++) {
      u -= Math.exp(lp[i])
      if (u < 0) return i
    }
    // Rounding left u ≥ 0 after the last id: return the most probable one.
    return sortedIds(lp, 1)[0]
  }

  /**
   * exp(mean negative log-likelihood per token) over one sequence or several, each read as a document
   * from its start (after `<|endoftext|>`); one network step per token while a sequence fits the window.
   */
  perplexity(ids: Uint32Array | readonly Uint32Array[]): number {
    const seqs = ids instanceof Uint32Array ? [ids] : ids
    let nll = 0
    let count = 0
    const V = this.vocabSize
    for (const seq of seqs) {
      // One network call scores a whole window: row i of its logits predicts seq[i].
      for (let s = 0; s < seq.length; s += this.contextLength) {
        if (s > 0) {
          // Past the window every token needs its own (sliding) window.
          for (let i = s; i < seq.length; i++) {
            nll -= this.#logProbs(seq.subarray(0, i))[seq[i]]
            count++
          }
          break
        }
        const part = seq.subarray(0, Math.min(seq.length, this.contextLength))
        const rows = this.#run(part.subarray(0, part.length - 1), true)
        for (let i = 0; i < part.length; i++) {
          const row = rows.subarray(i * V, (i + 1) * V)
          let max = -Infinity
          for (let j = 0; j < V; j++) if (row[j] > max) max = row[j]
          let sum = 0
          for (let j = 0; j < V; j++) sum += Math.exp(row[j] - max)
          nll -= row[part[i]] - max - Math.log(sum)
          count++
        }
      }
    }
    if (count === 0) throw new LabError('E_BAD_INPUT', 'perplexity: no tokens to score')
    return Math.exp(nll / count)
  }

  /** Ends the worker thread. */
  close(): Promise<number> {
    return this.#worker.terminate()
  }
}

/**
 * The k ids of largest value, largest first, ties by id: one pass keeping a sorted top list (insertion only
 * when a value beats the current k-th), O(V + k · insertions) rather than a sort of the whole vocabulary.
 */
function sortedIds(values: Float64Array, k: number): Uint32Array {
  if (k > 256) {
    // insertion would be quadratic here: sort everything
    const all = Uint32Array.from({ length: values.length }, (_, i) => i)
    all.sort((a, b) => values[b] - values[a] || a - b)
    return all.slice(0, k)
  }
  const ids = new Uint32Array(k)
  const vals = new Float64Array(k).fill(-Infinity)
  let n = 0
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (n === k && !(v > vals[k - 1])) continue // ties keep the smaller id, which came first
    let j = n < k ? n++ : k - 1
    while (j > 0 && vals[j - 1] < v) {
      vals[j] = vals[j - 1]
      ids[j] = ids[j - 1]
      j--
    }
    vals[j] = v
    ids[j] = i
  }
  return ids
}
