/**
 * The keyed PRF every scheme draws its randomness from. Specification: docs/spec.md#prf.
 *
 * Two stages:
 * 1. Context seed: SipHash-2-4 (Aumasson & Bernstein 2012, 128-bit key) over the context tokens
 *    packed as little-endian u32 → a 64-bit seed (hi, lo). SipHash is a standard PRF with published
 *    reference vectors; its 128-bit key is derived per configuration with HKDF (keys.ts).
 * 2. Candidate words: `word(seed, token, lane)` expands the 64-bit seed into 32-bit words per
 *    candidate token with three rounds of the murmur3 finaliser (fmix32) in 32-bit lanes. The mixer is
 *    keyed by the 64-bit per-context seed, never by raw key bits, so recovering it means attacking
 *    SipHash or a 2^64 seed space per context.
 *
 * Implemented on 32-bit halves with Math.imul and no BigInt so the hot loops stay in small integers.
 */

/** A SipHash-2-4 key as four u32 words: k0 = (w[1] << 32 | w[0]), k1 = (w[3] << 32 | w[2]). */
export type SipKey = Uint32Array

/** Builds a SipKey from 16 key bytes (k0 = bytes 0..7 LE, k1 = bytes 8..15 LE, as in the reference). */
export function sipKeyFromBytes(bytes: Uint8Array): SipKey {
  if (bytes.length !== 16) throw new RangeError('SipHash key must be 16 bytes')
  const k = new Uint32Array(4)
  for (let i = 0; i < 4; i++) {
    k[i] = (bytes[4 * i] | (bytes[4 * i + 1] << 8) | (bytes[4 * i + 2] << 16) | (bytes[4 * i + 3] << 24)) >>> 0
  }
  return k
}

/**
 * SipHash-2-4 over `nblocks` 64-bit blocks packed as (lo, hi) pairs in `m`, the last of which
 * carries the length byte. All state lives in locals: this runs once per scored context, so it is
 * written for speed (SipHash paper §2, Fig. 2.1; one copy of the round code).
 */
let blocks = new Int32Array(64)

function sip24(key: SipKey, m: Int32Array, nblocks: number, out: Uint32Array, at: number): void {
  // v0 = k0 ^ "somepseu", v1 = k1 ^ "dorandom", v2 = k0 ^ "lygenera", v3 = k1 ^ "tedbytes"
  let v0l = key[0] ^ 0x70736575, v0h = key[1] ^ 0x736f6d65
  let v1l = key[2] ^ 0x6e646f6d, v1h = key[3] ^ 0x646f7261
  let v2l = key[0] ^ 0x6e657261, v2h = key[1] ^ 0x6c796765
  let v3l = key[2] ^ 0x79746573, v3h = key[3] ^ 0x74656462
  let t: number, l: number
  for (let phase = 0; phase <= nblocks; phase++) {
    let ml = 0
    let mh = 0
    let rounds: number
    if (phase < nblocks) {
      ml = m[2 * phase]
      mh = m[2 * phase + 1]
      v3l ^= ml
      v3h ^= mh
      rounds = 2
    } else {
      v2l ^= 0xff
      rounds = 4
    }
    for (let r = 0; r < rounds; r++) {
      l = (v0l + v1l) | 0; v0h = (v0h + v1h + ((l >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0; v0l = l
      t = (v1l << 13) | (v1h >>> 19); v1h = ((v1h << 13) | (v1l >>> 19)) ^ v0h; v1l = t ^ v0l
      t = v0l; v0l = v0h; v0h = t
      l = (v2l + v3l) | 0; v2h = (v2h + v3h + ((l >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0; v2l = l
      t = (v3l << 16) | (v3h >>> 16); v3h = ((v3h << 16) | (v3l >>> 16)) ^ v2h; v3l = t ^ v2l
      l = (v0l + v3l) | 0; v0h = (v0h + v3h + ((l >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0; v0l = l
      t = (v3l << 21) | (v3h >>> 11); v3h = ((v3h << 21) | (v3l >>> 11)) ^ v0h; v3l = t ^ v0l
      l = (v2l + v1l) | 0; v2h = (v2h + v1h + ((l >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0; v2l = l
      t = (v1l << 17) | (v1h >>> 15); v1h = ((v1h << 17) | (v1l >>> 15)) ^ v2h; v1l = t ^ v2l
      t = v2l; v2l = v2h; v2h = t
    }
    if (phase < nblocks) {
      v0l ^= ml
      v0h ^= mh
    }
  }
  out[at] = (v0h ^ v1h ^ v2h ^ v3h) >>> 0
  out[at + 1] = (v0l ^ v1l ^ v2l ^ v3l) >>> 0
}

/**
 * SipHash-2-4 of arbitrary bytes, as in the reference implementation. Writes (hi, lo) of the
 * 64-bit tag to out[at], out[at+1]. Used for conformance vectors; the hot path is `sipHashWords`.
 */
export function sipHashBytes(key: SipKey, msg: Uint8Array, out: Uint32Array, at = 0): void {
  const n = msg.length
  const nblocks = (n >>> 3) + 1
  if (blocks.length < 2 * nblocks) blocks = new Int32Array(4 * nblocks)
  blocks.fill(0, 0, 2 * nblocks)
  for (let k = 0; k < n; k++) blocks[k >>> 2] |= msg[k] << (8 * (k & 3))
  blocks[2 * nblocks - 1] |= (n & 0xff) << 24
  sip24(key, blocks, nblocks, out, at)
}

/**
 * SipHash-2-4 of `count` u32 words packed little-endian (4·count bytes), taken from
 * `words[start .. start+count)`. Identical to `sipHashBytes` on the packed bytes.
 */
export function sipHashWords(
  key: SipKey,
  words: ArrayLike<number>,
  start: number,
  count: number,
  out: Uint32Array,
  at = 0,
): void {
  const nblocks = (count >>> 1) + 1
  if (blocks.length < 2 * nblocks) blocks = new Int32Array(4 * nblocks)
  for (let i = 0; i < count; i++) blocks[i] = words[start + i]
  // final block: the odd word (if any) and the message length in bytes in the top byte
  if ((count & 1) === 0) blocks[count] = 0
  blocks[2 * nblocks - 1] = ((count * 4) & 0xff) << 24
  sip24(key, blocks, nblocks, out, at)
}

/** The murmur3 32-bit finaliser (Appleby, MurmurHash3 `fmix32`): a bijection with full avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * Candidate word: lane `lane` (u32) of the PRF for `token` under the 64-bit context seed (hi, lo).
 * docs/spec.md#candidate-words:
 *   a = fmix32(lo ^ imul(token, 0x9E3779B1))
 *   b = fmix32(a ^ hi ^ imul(lane + 1, 0x85EBCA77))
 *   word = fmix32((b + lo) mod 2^32)
 * For a fixed seed and lane the map token → word is a bijection, so distinct candidates never share a word.
 */
export function word(seedHi: number, seedLo: number, token: number, lane: number): number {
  return mixLane(mixToken(seedLo, token), seedHi, seedLo, lane)
}

/** First mixer round, a = fmix32(lo ^ imul(token, 0x9E3779B1)); shared by every lane of a candidate. */
export function mixToken(seedLo: number, token: number): number {
  let h = (seedLo ^ Math.imul(token, 0x9e3779b1)) | 0
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16
  return h
}

/** Remaining rounds for one lane: fmix32(fmix32(a ^ hi ^ imul(lane + 1, 0x85EBCA77)) + lo). */
export function mixLane(a: number, seedHi: number, seedLo: number, lane: number): number {
  let h = a ^ seedHi ^ Math.imul(lane + 1, 0x85ebca77)
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16
  h = (h + seedLo) | 0
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16
  return h >>> 0
}

const TWO_POW_32 = 4294967296
const TWO_POW_M52 = 2 ** -52

/**
 * Uniform r in (0, 1) from the two words of lanes 0 and 1: r = ((w0 >>> 12)·2^32 + w1 + ½) / 2^52.
 * 52 random bits keep N + ½ exact in a double; r is never 0 or 1, so −ln r and −ln(1−r) are finite.
 */
export function uniformFromWords(w0: number, w1: number): number {
  return ((w0 >>> 12) * TWO_POW_32 + w1 + 0.5) * TWO_POW_M52
}

/** Identifies this PRF definition in key files, results and evidence. */
export const PRF_VERSION = 'tokenmark-prf-v1'
