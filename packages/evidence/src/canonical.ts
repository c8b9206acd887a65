/**
 * Canonical MessagePack (docs/evidence-format.md#canonical-encoding), on top of @msgpack/msgpack
 * (https://github.com/msgpack/msgpack/blob/master/spec.md):
 * - map keys are ASCII strings, sorted ascending, each once;
 * - integers within ±(2^53 − 1) use the shortest int format; every other number is a float64;
 * - strings are UTF-8 `str`, byte strings `bin`, each with the shortest length header;
 * - no extension types, no NaN or ±Infinity.
 * One value has exactly one encoding, so a reader checks canonicity by decoding and re-encoding, and
 * a signature over the bytes is a signature over the value.
 *
 * Decoding is our own (readValue below), not @msgpack/msgpack's: its decoder reads long strings with a
 * default TextDecoder, which drops a leading U+FEFF, so a text beginning with a byte-order mark did not
 * survive the round trip and its bundle failed for good. Ours decodes UTF-8 strictly, BOM kept
 * (WHATWG Encoding, "ignoreBOM"), and refuses malformed UTF-8 instead of replacing it.
 */
import { encode } from '@msgpack/msgpack'
import { loneSurrogateAt } from '@tokenmark/core'
import { EvidenceError } from './errors.js'

const ENCODE_OPTIONS = { sortKeys: true, ignoreUndefined: true, forceFloat32: false, forceIntegerToFloat: false, initialBufferSize: 4096 }

/** A value the canonical encoding can hold. */
export type Canonical = null | boolean | number | string | Uint8Array | readonly Canonical[] | { readonly [k: string]: Canonical | undefined }

const ASCII_KEY = /^[\x20-\x7e]+$/

/** Rejects what has no canonical encoding (non-finite numbers, non-ASCII keys, classes), naming the path. */
export function assertCanonical(value: unknown, path = '$'): asserts value is Canonical {
  if (value === null || typeof value === 'boolean') return
  if (typeof value === 'string') {
    // A lone surrogate has no UTF-8 form: the encoder would write U+FFFD and the value would not round-trip.
    if (loneSurrogateAt(value) >= 0) throw new EvidenceError('E_BAD_INPUT', `${path} is not well-formed Unicode (a lone surrogate); evidence holds texts byte for byte`)
    return
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new EvidenceError('E_BAD_INPUT', `${path} is ${value}; evidence holds finite numbers only`)
    return
  }
  if (value instanceof Uint8Array) return
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertCanonical(v, `${path}[${i}]`))
    return
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (!ASCII_KEY.test(k)) throw new EvidenceError('E_BAD_INPUT', `${path} has a key that is not printable ASCII`)
      if (v !== undefined) assertCanonical(v, `${path}.${k}`)
    }
    return
  }
  throw new EvidenceError('E_BAD_INPUT', `${path} has a value of type ${typeof value} that evidence cannot hold`)
}

export function encodeCanonical(value: Canonical): Uint8Array {
  assertCanonical(value)
  return encode(value, ENCODE_OPTIONS)
}

/**
 * Decodes one MessagePack value that fills `bytes` exactly, and checks that it is canonical.
 * Throws EvidenceError E_BUNDLE_FORMAT naming `what` and the first differing byte.
 */
export function decodeCanonical(bytes: Uint8Array, what: string): unknown {
  let value: unknown
  try {
    const r = new Reader(bytes)
    value = r.value(0)
    if (r.pos !== bytes.length) throw new Error(`${bytes.length - r.pos} bytes after the value`)
  } catch (e) {
    throw new EvidenceError('E_BUNDLE_FORMAT', `${what} is not valid MessagePack (${(e as Error).message.slice(0, 120)})`)
  }
  let again: Uint8Array
  try {
    again = encodeCanonical(value as Canonical)
  } catch (e) {
    throw new EvidenceError('E_BUNDLE_FORMAT', `${what} holds a value with no canonical encoding (${(e as Error).message})`)
  }
  const at = firstDifference(bytes, again)
  if (at >= 0) {
    throw new EvidenceError('E_BUNDLE_FORMAT', `${what} is not in canonical encoding (first difference at byte ${at}); it was altered or written by a non-conforming tool`)
  }
  return value
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i
  return a.length === b.length ? -1 : n
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
/** Nesting deeper than any bundle has; bounds the recursion on hostile input. */
const MAX_DEPTH = 64

/** A MessagePack reader for the types canonical encoding uses (https://github.com/msgpack/msgpack/blob/master/spec.md). */
class Reader {
  pos = 0
  readonly #b: Uint8Array
  readonly #dv: DataView
  constructor(bytes: Uint8Array) {
    this.#b = bytes
    this.#dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  #take(n: number): number {
    const at = this.pos
    if (at + n > this.#b.length) throw new Error('truncated')
    this.pos += n
    return at
  }
  #u(n: 1 | 2 | 4): number {
    const at = this.#take(n)
    return n === 1 ? this.#b[at] : n === 2 ? this.#dv.getUint16(at) : this.#dv.getUint32(at)
  }
  #int64(signed: boolean): number {
    const at = this.#take(8)
    const v = signed ? this.#dv.getBigInt64(at) : this.#dv.getBigUint64(at)
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new Error('integer beyond 2^53')
    return Number(v)
  }
  #str(n: number): string {
    const at = this.#take(n)
    return UTF8.decode(this.#b.subarray(at, at + n))
  }
  #bin(n: number): Uint8Array {
    const at = this.#take(n)
    return this.#b.slice(at, at + n)
  }
  #array(n: number, depth: number): unknown[] {
    const out: unknown[] = []
    for (let i = 0; i < n; i++) out.push(this.value(depth + 1))
    return out
  }
  #map(n: number, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (let i = 0; i < n; i++) {
      const k = this.value(depth + 1)
      if (typeof k !== 'string') throw new Error('a map key that is not a string')
      if (Object.prototype.hasOwnProperty.call(out, k)) throw new Error(`map key "${k.slice(0, 40)}" twice`)
      Object.defineProperty(out, k, { value: this.value(depth + 1), enumerable: true, writable: true, configurable: true })
    }
    return out
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) throw new Error('nested too deeply')
    const t = this.#u(1)
    if (t <= 0x7f) return t
    if (t >= 0xe0) return t - 0x100
    if (t >= 0xa0 && t <= 0xbf) return this.#str(t & 0x1f)
    if (t >= 0x90 && t <= 0x9f) return this.#array(t & 0x0f, depth)
    if (t >= 0x80 && t <= 0x8f) return this.#map(t & 0x0f, depth)
    switch (t) {
      case 0xc0: return null
      case 0xc2: return false
      case 0xc3: return true
      case 0xc4: return this.#bin(this.#u(1))
      case 0xc5: return this.#bin(this.#u(2))
      case 0xc6: return this.#bin(this.#u(4))
      case 0xca: return this.#dv.getFloat32(this.#take(4))
      case 0xcb: return this.#dv.getFloat64(this.#take(8))
      case 0xcc: return this.#u(1)
      case 0xcd: return this.#u(2)
      case 0xce: return this.#u(4)
      case 0xcf: return this.#int64(false)
      case 0xd0: return this.#dv.getInt8(this.#take(1))
      case 0xd1: return this.#dv.getInt16(this.#take(2))
      case 0xd2: return this.#dv.getInt32(this.#take(4))
      case 0xd3: return this.#int64(true)
      case 0xd9: return this.#str(this.#u(1))
      case 0xda: return this.#str(this.#u(2))
      case 0xdb: return this.#str(this.#u(4))
      case 0xdc: return this.#array(this.#u(2), depth)
      case 0xdd: return this.#array(this.#u(4), depth)
      case 0xde: return this.#map(this.#u(2), depth)
      case 0xdf: return this.#map(this.#u(4), depth)
      default: throw new Error(`type byte 0x${t.toString(16)} (extension or reserved) has no place in evidence`)
    }
  }
}
