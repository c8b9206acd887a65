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

// SipHash state v0..v3 as (lo, hi) pairs: s[0]=v0lo s[1]=v0hi s[2]=v1lo ... s[7]=v3hi.
const s = new Int32Array(8)

function init(k: SipKey): void {
  // v0 = k0 ^ "somepseu", v1 = k1 ^ "dorandom", v2 = k0 ^ "lygenera", v3 = k1 ^ "tedbytes"
  s[0] = k[0] ^ 0x70736575
  s[1] = k[1] ^ 0x736f6d65
  s[2] = k[2] ^ 0x6e646f6d
  s[3] = k[3] ^ 0x646f7261
  s[4] = k[0] ^ 0x6e657261
  s[5] = k[1] ^ 0x6c796765
  s[6] = k[2] ^ 0x79746573
  s[7] = k[3] ^ 0x74656462
}

/** `rounds` SipRounds on the module state (SipHash paper, §2, Fig. 2.1). */
function sipRounds(rounds: number): void {
  let v0l = s[0], v0h = s[1], v1l = s[2], v1h = s[3], v2l = s[4], v2h = s[5], v3l = s[6], v3h = s[7]
  let t: number, l: number
  for (let r = 0; r < rounds; r++) {
    // v0 += v1
    l = (v0l + v1l) | 0
    v0h = (v0h + v1h + ((l >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0
    v0l = l
    // v1 = rotl(v1, 13) ^ v0
    t = (v1l << 13) | (v1h >>> 19)
    v1h = ((v1h << 13) | (v1l >>> 19)) ^ v0h
    v1l = t ^ v0l
    // v0 = rotl(v0, 32)
    t = v0l; v0l = v0h; v0h = t
    // v2 += v3
    l = (v2l + v3l) | 0
    v2h = (v2h + v3h + ((l >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0
    v2l = l
    // v3 = rotl(v3, 16) ^ v2
    t = (v3l << 16) | (v3h >>> 16)
    v3h = ((v3h << 16) | (v3l >>> 16)) ^ v2h
    v3l = t ^ v2l
    // v0 += v3
    l = (v0l + v3l) | 0
    v0h = (v0h + v3h + ((l >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0
    v0l = l
    // v3 = rotl(v3, 21) ^ v0
    t = (v3l << 21) | (v3h >>> 11)
    v3h = ((v3h << 21) | (v3l >>> 11)) ^ v0h
    v3l = t ^ v0l
    // v2 += v1
    l = (v2l + v1l) | 0
    v2h = (v2h + v1h + ((l >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0
    v2l = l
    // v1 = rotl(v1, 17) ^ v2
    t = (v1l << 17) | (v1h >>> 15)
    v1h = ((v1h << 17) | (v1l >>> 15)) ^ v2h
    v1l = t ^ v2l
    // v2 = rotl(v2, 32)
    t = v2l; v2l = v2h; v2h = t
  }
  s[0] = v0l; s[1] = v0h; s[2] = v1l; s[3] = v1h; s[4] = v2l; s[5] = v2h; s[6] = v3l; s[7] = v3h
}

function absorb(mlo: number, mhi: number): void {
  s[6] ^= mlo
  s[7] ^= mhi
  sipRounds(2)
  s[0] ^= mlo
  s[1] ^= mhi
}

function finish(out: Uint32Array, at: number): void {
  s[4] ^= 0xff
  sipRounds(4)
  out[at] = (s[1] ^ s[3] ^ s[5] ^ s[7]) >>> 0 // hi
  out[at + 1] = (s[0] ^ s[2] ^ s[4] ^ s[6]) >>> 0 // lo
}

/**
 * SipHash-2-4 of arbitrary bytes, as in the reference implementation. Writes (hi, lo) of the
 * 64-bit tag to out[at], out[at+1]. Used for conformance vectors; the hot path is `sipHashWords`.
 */
export function sipHashBytes(key: SipKey, msg: Uint8Array, out: Uint32Array, at = 0): void {
  init(key)
  const n = msg.length
  const full = n - (n % 8)
  for (let i = 0; i < full; i += 8) {
    absorb(
      msg[i] | (msg[i + 1] << 8) | (msg[i + 2] << 16) | (msg[i + 3] << 24),
      msg[i + 4] | (msg[i + 5] << 8) | (msg[i + 6] << 16) | (msg[i + 7] << 24),
    )
  }
  let lo = 0
  let hi = (n & 0xff) << 24
  for (let i = full, sh = 0; i < n; i++, sh += 8) {
    if (sh < 32) lo |= msg[i] << sh
    else hi |= msg[i] << (sh - 32)
  }
  absorb(lo, hi)
  finish(out, at)
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
  init(key)
  let i = start
  const pairsEnd = start + (count & ~1)
  for (; i < pairsEnd; i += 2) absorb(words[i] | 0, words[i + 1] | 0)
  const lenByte = ((count * 4) & 0xff) << 24
  if (count & 1) absorb(words[i] | 0, lenByte)
  else absorb(0, lenByte)
  finish(out, at)
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
  let h = (seedLo ^ Math.imul(token, 0x9e3779b1)) | 0
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16
  h = h ^ seedHi ^ Math.imul(lane + 1, 0x85ebca77)
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
