/**
 * An order-independent sum of non-negative doubles (docs/spec.md#exact-sum).
 *
 * Floating-point addition is not associative, so a Gumbel score sum accumulated in one process and the
 * same tuples summed shard by shard would differ in the last bits. Sharded scans promise the same
 * statistic bit for bit (docs/spec.md#shards), so the Gamma statistic is kept as a fixed-point integer:
 * each addend is cut at fixed binary points into 26-bit limbs of weight 2^(26j − 130), j = 0..4, plus an
 * integer part. Limb sums are exact integers in f64 (each add contributes < 2^26, and limbs are carried
 * every 2^26 adds), so any order of additions and subtractions gives the same limbs, and `value()` rounds
 * the same limbs the same way. Gumbel observations −ln(1 − u) with u ≥ 2^−53 (prf.ts uniformFromWords)
 * have no bits below 2^−106, so nothing is cut; anything below 2^−130 would be truncated deterministically
 * per addend, which keeps order independence.
 */

const LIMBS = 5
const BASE = 2 ** 26
const INV_BASE = 2 ** -26
/** Carry before any limb can leave the exactly representable integers (each add contributes < 2^26). */
const CARRY_EVERY = 2 ** 26

export class ExactSum {
  /** limbs[j] counts units of 2^(26j − 130), j < LIMBS; `whole` counts units of 1. */
  private readonly limbs = new Float64Array(LIMBS)
  private whole = 0
  private pending = 0

  add(x: number): void {
    this.put(x, 1)
  }

  subtract(x: number): void {
    this.put(x, -1)
  }

  /** Adds another exact sum (limb by limb: exact). */
  addSum(other: ExactSum): void {
    other.carry()
    this.carry()
    for (let j = 0; j < LIMBS; j++) this.limbs[j] += other.limbs[j]
    this.whole += other.whole
    this.carry()
  }

  /**
   * The exact sum as six doubles: the integer part, then limbs j = 0..4 (units of 2^(26j − 130)),
   * normalised. Two sums are equal exactly when these are; adding them (addWords) adds the sums.
   */
  toWords(): Float64Array {
    this.carry()
    const out = new Float64Array(LIMBS + 1)
    out[0] = this.whole
    out.set(this.limbs, 1)
    return out
  }

  /** Adds a sum written by toWords (exact); rejects words that toWords cannot have written. */
  addWords(w: Float64Array): void {
    if (w.length !== LIMBS + 1 || !Number.isSafeInteger(w[0]) || w[0] < 0) throw new RangeError('exact-sum words are malformed')
    for (let j = 0; j < LIMBS; j++) if (!(Number.isInteger(w[j + 1]) && w[j + 1] >= 0 && w[j + 1] < BASE)) throw new RangeError('exact-sum words are malformed')
    this.carry()
    for (let j = 0; j < LIMBS; j++) this.limbs[j] += w[j + 1]
    this.whole += w[0]
    this.carry()
  }

  reset(): void {
    this.limbs.fill(0)
    this.whole = 0
    this.pending = 0
  }

  /** The sum rounded to a double: a function of the exact sum alone (limbs are normalised first). */
  value(): number {
    this.carry()
    const l = this.limbs
    let s = 0
    for (let j = 0; j < LIMBS; j++) s = (s + l[j]) * INV_BASE // exact until the last rounding steps, low limbs first
    return this.whole + s
  }

  private put(x: number, sign: 1 | -1): void {
    if (!(x >= 0 && x < 2 ** 52)) throw new RangeError('ExactSum holds finite non-negative addends below 2^52')
    const w = Math.floor(x)
    let r = x - w // exact: the fraction of a double
    this.whole += sign * w
    const l = this.limbs
    for (let j = LIMBS - 1; j >= 0; j--) {
      r *= BASE // exact: a power of two
      const d = Math.floor(r)
      r -= d
      l[j] += sign * d
    }
    if (++this.pending >= CARRY_EVERY) this.carry()
  }

  /** Moves each limb's overflow (or borrow) into the next, leaving limbs in [0, 2^26). */
  private carry(): void {
    const l = this.limbs
    let c = 0
    for (let j = 0; j < LIMBS; j++) {
      const v = l[j] + c
      c = Math.floor(v * INV_BASE)
      l[j] = v - c * BASE
    }
    this.whole += c
    this.pending = 0
  }
}
