import { sha256 } from '@noble/hashes/sha2.js'
import { toHex } from '@tokenmark/core'

const enc = new TextEncoder()

/** SHA-256 (lowercase hex) of a string's UTF-8 bytes, or of bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return toHex(sha256(typeof data === 'string' ? enc.encode(data) : data))
}

/** Length in Unicode code points (what Python's len() reports), not UTF-16 units. */
export function codePoints(text: string): number {
  let n = 0
  for (const _ of text) n++
  return n
}
