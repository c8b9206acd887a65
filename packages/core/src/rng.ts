/**
 * Seeded random numbers for sampling decisions that are not watermark decisions (which token to
 * draw from a distribution, attack positions in the lab). xoshiro128** (Blackman & Vigna 2018),
 * seeded through SplitMix32 so any u32 seed gives a well-mixed state. Deterministic across platforms.
 */
export interface Rng {
  /** Next u32. */
  nextU32(): number
  /** Uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number
}

/** One SplitMix32 step (the 32-bit variant of Steele et al.'s SplitMix): seeds and sub-seeds. */
export function splitmix32(state: { x: number }): number {
  state.x = (state.x + 0x9e3779b9) | 0
  let z = state.x
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}

export class Xoshiro128 implements Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError('RNG seed must be an integer')
    const st = { x: seed | 0 }
    this.a = splitmix32(st)
    this.b = splitmix32(st)
    this.c = splitmix32(st)
    this.d = splitmix32(st)
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0
    const t = this.b << 9
    this.c ^= this.a
    this.d ^= this.b
    this.b ^= this.c
    this.a ^= this.d
    this.c ^= t
    this.d = rotl(this.d, 11)
    return result
  }

  nextFloat(): number {
    return ((this.nextU32() >>> 5) * 67108864 + (this.nextU32() >>> 6)) / 9007199254740992
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}

/** A seeded RNG; the same seed gives the same stream on every platform. */
export function seededRng(seed: number): Rng {
  return new Xoshiro128(seed)
}
