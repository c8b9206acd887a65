/**
 * A small seeded pseudo-random generator for simulations (generation, attacks, splits): xoshiro128**
 * (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2018;
 * https://prng.di.unimi.it/xoshiro128starstar.c), its 128-bit state filled from a u32 seed with
 * splitmix32. Never used for watermark decisions (those come from core's keyed PRF), and never
 * `Math.random`: the same seed gives the same stream on every platform.
 */
import { checkInt } from './errors.js'

import type { Rng as CoreRng } from '@tokenmark/core'

/** Core's RNG interface (nextU32, nextFloat) plus unbiased integers; the stream equals core's `seededRng`. */
export interface Rng extends CoreRng {
  /** Uniform integer in [0, n), n ≤ 2^32, without modulo bias. */
  nextInt(n: number): number
}

/** splitmix32 step (the 32-bit variant of Steele et al.'s SplitMix), used only to seed xoshiro. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0
  let z = state.s
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}

/** xoshiro128** seeded from a u32 `seed` (any integer in [0, 2^32)). */
export function createRng(seed: number): Rng {
  checkInt('seed', seed, 0, 0xffffffff)
  const sm = { s: seed | 0 }
  let a = splitmix32(sm)
  let b = splitmix32(sm)
  let c = splitmix32(sm)
  let d = splitmix32(sm)
  if ((a | b | c | d) === 0) a = 1 // the all-zero state is the one fixed point
  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0
    const t = b << 9
    c ^= a
    d ^= b
    b ^= c
    a ^= d
    c ^= t
    d = rotl(d, 11)
    return result
  }
  return {
    nextU32,
    nextFloat: () => ((nextU32() >>> 5) * 67108864 + (nextU32() >>> 6)) / 9007199254740992,
    nextInt: (n: number) => {
      if (!(n >= 1 && n <= 0x100000000)) throw new RangeError(`nextInt: n must be in [1, 2^32], got ${n}`)
      // Lemire-style rejection on the top bits: exact uniformity.
      const limit = 0x100000000 - (0x100000000 % n)
      for (;;) {
        const x = nextU32()
        if (x < limit) return x % n
      }
    },
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}

/** Derives an independent u32 sub-seed from a seed and a label (for one stream per purpose). */
export function subSeed(seed: number, label: string): number {
  let h = (seed ^ 0x811c9dc5) >>> 0
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193)
  return splitmix32({ s: h | 0 })
}
