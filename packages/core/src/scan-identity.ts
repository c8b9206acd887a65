/**
 * What makes two shard parts parts of one scan (docs/spec.md#scan-identity): the key (its commitment, which
 * binds the scheme, its parameters and the tokenizer: keys.ts), the scan's settings (tokenizer,
 * normalisation, emission filter) and the corpus it read. A merge refuses parts that disagree on any of
 * them, and names which.
 *
 * The corpus digest must come out the same whether one process read every text (`scan --shard i/S`) or
 * W routers each read a block (`scan --shards S`, the queue), so it is additive: the sum mod 2^256 of
 * SHA-256("tokenmark/v1/corpus-text\0" ‖ u64 seq ‖ u32 context length ‖ u32 length ‖ context ids ‖ ids)
 * over the texts (seq = the text's place in the corpus, ids little-endian u32 as tokenized), plus
 * SHA-256("tokenmark/v1/corpus-prompt\0" ‖ u32 length ‖ ids) per excluded prompt. Blocks add. An
 * additive hash over a 256-bit modulus is not a tamper seal against someone who chooses texts to collide
 * (Bellare & Micciancio 1997, "A new paradigm for collision-free hashing", §4 want a far larger modulus):
 * it tells scans apart. What seals a merge is the Merkle root over the parts' SHA-256 (shard-part.ts).
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { canonicalJson, toHex, utf8 } from './bytes.js'
import type { NormalizeOptions } from './normalize.js'

const TEXT_TAG = utf8('tokenmark/v1/corpus-text\0')
const PROMPT_TAG = utf8('tokenmark/v1/corpus-prompt\0')
const SETTINGS_TAG = 'tokenmark/v1/scan-settings\0'
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** Token ids as little-endian u32 bytes (a view when the platform is little-endian). */
function idBytes(ids: ArrayLike<number>): Uint8Array {
  if (LITTLE_ENDIAN && ids instanceof Uint32Array) return new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength)
  const out = new Uint8Array(4 * ids.length)
  const dv = new DataView(out.buffer)
  for (let i = 0; i < ids.length; i++) dv.setUint32(4 * i, ids[i], true)
  return out
}

/** The additive corpus digest (module comment): 256 bits as eight little-endian u32 words. */
export class CorpusDigest {
  readonly words = new Uint32Array(8)
  private readonly head = new Uint8Array(16)
  private readonly headView = new DataView(this.head.buffer)
  /** A text's hashed bytes, laid out for `oneShot`. */
  private scratch = new Uint8Array(0)

  /**
   * `oneShot`: a SHA-256 function to use instead of @noble/hashes (the same digest; Node callers pass
   * node:crypto's, several times faster on the ~0.5 KB of ids per text — a tenth of a scan thread's CPU).
   */
  constructor(private readonly oneShot?: (bytes: Uint8Array) => Uint8Array) {}

  /** Text number `seq` of the corpus, with its prompt's ids as context when it had one. */
  addText(seq: number, ids: ArrayLike<number>, context?: ArrayLike<number>): void {
    const dv = this.headView
    dv.setUint32(0, seq % 2 ** 32, true)
    dv.setUint32(4, Math.floor(seq / 2 ** 32), true)
    dv.setUint32(8, context?.length ?? 0, true)
    dv.setUint32(12, ids.length, true)
    if (this.oneShot !== undefined) return this.addBytes(this.oneShot(this.layout([TEXT_TAG, this.head, ...(context !== undefined ? [idBytes(context)] : []), idBytes(ids)])))
    const h = sha256.create().update(TEXT_TAG).update(this.head)
    if (context !== undefined) h.update(idBytes(context))
    this.addBytes(h.update(idBytes(ids)).digest())
  }

  /** The pieces one after another in the scratch buffer (a view of it). */
  private layout(pieces: Uint8Array[]): Uint8Array {
    let n = 0
    for (const p of pieces) n += p.length
    if (this.scratch.length < n) this.scratch = new Uint8Array(Math.max(n, 2 * this.scratch.length))
    let at = 0
    for (const p of pieces) {
      this.scratch.set(p, at)
      at += p.length
    }
    return this.scratch.subarray(0, n)
  }

  /** A prompt excluded from the whole scan. */
  addPrompt(ids: ArrayLike<number>): void {
    this.headView.setUint32(0, ids.length, true)
    this.addBytes(sha256.create().update(PROMPT_TAG).update(this.head.subarray(0, 4)).update(idBytes(ids)).digest())
  }

  /** Adds another digest (a block's), as 32 little-endian bytes. */
  addBytes(d: Uint8Array): void {
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength)
    let carry = 0
    for (let i = 0; i < 8; i++) {
      const s = this.words[i] + dv.getUint32(4 * i, true) + carry
      this.words[i] = s >>> 0
      carry = s > 0xffffffff ? 1 : 0
    }
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(32)
    const dv = new DataView(out.buffer)
    for (let i = 0; i < 8; i++) dv.setUint32(4 * i, this.words[i], true)
    return out
  }
}

/** What a scan was read with, besides the key. */
export interface ScanSettings {
  /** The tokenizer's name. */
  tokenizer: string
  normalize?: boolean | NormalizeOptions
  /** SHA-256 (hex) of the emission filter's bytes (EmissionFilter.toBytes; filterSha256), when one restricted the scan. */
  filterSha256?: string
}

/** The SHA-256 of an emission filter's bytes, hex, as scan settings and evidence bundles name it. */
export function filterSha256(filterBytes: Uint8Array): string {
  return toHex(sha256(filterBytes))
}

/** SHA-256 of the settings' canonical form (32 bytes). */
export function scanSettingsDigest(s: ScanSettings): Uint8Array {
  const form = { tokenizer: s.tokenizer, normalize: s.normalize ?? true, filter: s.filterSha256 ?? null }
  return sha256(utf8(SETTINGS_TAG + canonicalJson(form)))
}
