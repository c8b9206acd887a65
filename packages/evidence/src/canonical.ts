/**
 * Canonical MessagePack (docs/evidence-format.md#canonical-encoding), on top of @msgpack/msgpack
 * (https://github.com/msgpack/msgpack/blob/master/spec.md):
 * - map keys are ASCII strings, sorted ascending, each once;
 * - integers within ±(2^53 − 1) use the shortest int format; every other number is a float64;
 * - strings are UTF-8 `str`, byte strings `bin`, each with the shortest length header;
 * - no extension types, no NaN or ±Infinity.
 * One value has exactly one encoding, so a reader checks canonicity by decoding and re-encoding, and
 * a signature over the bytes is a signature over the value.
 */
import { decode, encode } from '@msgpack/msgpack'
import { EvidenceError } from './errors.js'

const ENCODE_OPTIONS = { sortKeys: true, ignoreUndefined: true, forceFloat32: false, forceIntegerToFloat: false, initialBufferSize: 4096 }

/** A value the canonical encoding can hold. */
export type Canonical = null | boolean | number | string | Uint8Array | readonly Canonical[] | { readonly [k: string]: Canonical | undefined }

const ASCII_KEY = /^[\x20-\x7e]+$/

/** Rejects what has no canonical encoding (non-finite numbers, non-ASCII keys, classes), naming the path. */
export function assertCanonical(value: unknown, path = '$'): asserts value is Canonical {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return
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
    value = decode(bytes, { useBigInt64: false })
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
