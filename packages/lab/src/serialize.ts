/**
 * Save / load a trained n-gram model as MessagePack (`@msgpack/msgpack`): a map with the format tag, version,
 * order, vocabSize, training tokens and singletons, an optional tokenizer name, and per order the count tables of `NGramTables` as msgpack
 * `bin` (typed arrays as little-endian bytes), so a Python or Rust decoder reads them with standard tools.
 * Only counts and discounts are stored; alpha/gamma and the unigram vector are re-derived on load by the
 * same code that derives them after training, which is why a round trip gives identical logits.
 */
import { decode, encode } from '@msgpack/msgpack'
import { readFileSync, writeFileSync } from 'node:fs'
import { LabError } from './errors.js'
import { NGramModel, type NGramLevel, type NGramTables } from './ngram.js'

export const MODEL_FORMAT = 'tokenmark-ngram'
export const MODEL_FORMAT_VERSION = 1

export interface SaveOptions {
  /** Tokenizer the ids belong to (e.g. `o200k_base`), recorded so a loader can refuse a mismatch. */
  tokenizer?: string
}

export interface LoadedModel {
  model: NGramModel
  /** The tokenizer name recorded at save time, if any. */
  tokenizer: string | undefined
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** Encodes a model to MessagePack bytes. */
export function saveModel(model: NGramModel, options: SaveOptions = {}): Uint8Array {
  if (!LITTLE_ENDIAN) throw new LabError('E_MODEL_FORMAT', 'saving models needs a little-endian platform')
  const t = model.toTables()
  return encode({
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    order: t.order,
    vocabSize: t.vocabSize,
    tokens: t.tokens,
    singletons: t.singletons,
    ...(options.tokenizer !== undefined ? { tokenizer: options.tokenizer } : {}),
    levels: t.levels.map((lv) => ({
      contextKeys: bytes(lv.contextKeys),
      childStart: bytes(lv.childStart),
      childWords: bytes(lv.childWords),
      childCounts: bytes(lv.childCounts),
      discounts: Array.from(lv.discounts),
    })),
  })
}

/** Decodes bytes written by `saveModel`. Throws E_MODEL_FORMAT (with what to do) on anything else. */
export function loadModel(data: Uint8Array): LoadedModel {
  if (!LITTLE_ENDIAN) throw new LabError('E_MODEL_FORMAT', 'loading models needs a little-endian platform')
  let doc: unknown
  try {
    doc = decode(data)
  } catch (cause) {
    throw new LabError('E_MODEL_FORMAT', `not a MessagePack model file (${String(cause)}); train and save the model again`)
  }
  const bad = (why: string) => new LabError('E_MODEL_FORMAT', `model file: ${why}; train and save the model again`)
  if (!isRecord(doc) || doc.format !== MODEL_FORMAT) throw bad(`not a ${MODEL_FORMAT} file`)
  if (doc.version !== MODEL_FORMAT_VERSION) throw bad(`unsupported version ${String(doc.version)} (this build reads ${MODEL_FORMAT_VERSION})`)
  const { order, vocabSize, tokens, singletons, tokenizer, levels } = doc
  if (typeof order !== 'number' || typeof vocabSize !== 'number') throw bad('order and vocabSize must be numbers')
  if (typeof tokens !== 'number' || typeof singletons !== 'number') throw bad('tokens and singletons must be numbers')
  if (tokenizer !== undefined && typeof tokenizer !== 'string') throw bad('tokenizer must be a string')
  if (!Array.isArray(levels)) throw bad('levels must be an array')
  const tables: NGramTables = {
    order,
    vocabSize,
    tokens,
    singletons,
    levels: levels.map((lv: unknown, i): NGramLevel => {
      if (!isRecord(lv)) throw bad(`level ${i + 1} is not a map`)
      const d = lv.discounts
      if (!Array.isArray(d) || !d.every((x) => typeof x === 'number')) throw bad(`level ${i + 1} discounts`)
      return {
        contextKeys: u32(lv.contextKeys, bad),
        childStart: u32(lv.childStart, bad),
        childWords: u32(lv.childWords, bad),
        childCounts: u32(lv.childCounts, bad),
        discounts: Float64Array.from(d as number[]),
      }
    }),
  }
  return { model: new NGramModel(tables), tokenizer: tokenizer as string | undefined }
}

/** Writes `saveModel(model)` to a file. */
export function saveModelFile(path: string, model: NGramModel, options: SaveOptions = {}): void {
  writeFileSync(path, saveModel(model, options))
}

/** Reads a file written by `saveModelFile`. */
export function loadModelFile(path: string): LoadedModel {
  return loadModel(readFileSync(path))
}

function bytes(a: Uint32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
}

/** Copies a decoded `bin` into an aligned Uint32Array (decoded bins are views at arbitrary offsets). */
function u32(x: unknown, bad: (why: string) => LabError): Uint32Array {
  if (!(x instanceof Uint8Array) || x.byteLength % 4 !== 0) throw bad('a table is not a u32 byte array')
  const out = new Uint32Array(x.byteLength / 4)
  new Uint8Array(out.buffer).set(x)
  return out
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}
