/**
 * Seeded randomness for simulations (generation, attacks, splits): core's `seededRng` (xoshiro128**,
 * Blackman & Vigna 2018, seeded by splitmix32) plus unbiased integers, which the attacks need and core's
 * interface does not have. Never used for watermark decisions (those come from core's keyed PRF), and
 * never `Math.random`: the same seed gives the same stream on every platform.
 */
import { seededRng, splitmix32, type Rng as CoreRng } from '@tokenmark/core'
import { checkInt } from './errors.js'

/** Core's RNG interface (nextU32, nextFloat) plus unbiased integers; the stream equals core's `seededRng`. */
export interface Rng extends CoreRng {
  /** Uniform integer in [0, n), n ≤ 2^32, without modulo bias. */
  nextInt(n: number): number
}

/** core's `seededRng` (xoshiro128** seeded by splitmix32) with `nextInt` added; `seed` is a u32. */
export function createRng(seed: number): Rng {
  checkInt('seed', seed, 0, 0xffffffff)
  const core = seededRng(seed)
  const nextU32 = (): number => core.nextU32()
  return {
    nextU32,
    nextFloat: () => core.nextFloat(),
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

/** Derives an independent u32 sub-seed from a seed and a label (for one stream per purpose). */
export function subSeed(seed: number, label: string): number {
  let h = (seed ^ 0x811c9dc5) >>> 0
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193)
  return splitmix32({ x: h | 0 })
}
