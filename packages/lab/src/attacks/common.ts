/** Helpers shared by the attacks: argument checks and seeded choice of positions. */
import { LabError, checkInt, checkRange } from '../errors.js'
import type { Rng } from '../rng.js'

/** Every attack takes a strength in [0, 1] and a u32 seed; the result depends on nothing else random. */
export interface AttackOptions {
  /** Fraction of the attacked units to change, in [0, 1]; each attack says what its unit is. */
  strength: number
  seed: number
}

export function checkAttack(name: string, o: AttackOptions): void {
  if (typeof o !== 'object' || o === null) throw new LabError('E_BAD_PARAM', `${name}: pass { strength, seed }`)
  checkRange(`${name}: strength`, o.strength, 0, 1)
  checkInt(`${name}: seed`, o.seed, 0, 0xffffffff)
}

export function checkIds(name: string, ids: unknown): asserts ids is Uint32Array {
  if (!(ids instanceof Uint32Array)) throw new LabError('E_BAD_INPUT', `${name}: token ids must be a Uint32Array`)
}

/** k = round(strength · n) distinct positions in [0, n), ascending (partial Fisher–Yates). */
export function choosePositions(n: number, strength: number, rng: Rng): Int32Array {
  const k = Math.min(n, Math.round(strength * n))
  const perm = new Int32Array(n)
  for (let i = 0; i < n; i++) perm[i] = i
  for (let i = 0; i < k; i++) {
    const j = i + rng.nextInt(n - i)
    const t = perm[i]
    perm[i] = perm[j]
    perm[j] = t
  }
  return perm.slice(0, k).sort()
}

/** The last `h` tokens before position `i` of `ids`, prefixed by `prefix` when i < h (prompt context). */
export function contextAt(prefix: Uint32Array, ids: Uint32Array, i: number, h: number): Uint32Array {
  if (i >= h) return ids.subarray(i - h, i)
  const need = h - i
  const p = prefix.subarray(Math.max(0, prefix.length - need))
  const out = new Uint32Array(p.length + i)
  out.set(p)
  out.set(ids.subarray(0, i), p.length)
  return out
}
