/**
 * Emission filter: a compact record, kept by a provider while it serves watermarked responses, of
 * the contexts at which it sampled a watermarked token. A corpus test may then score only suspect
 * tokens whose context the provider served — where a student distilled from those responses carries
 * the teacher's bias (Sander et al. 2024, "Watermarking makes language models radioactive", §4 filter).
 *
 * Why contexts, not (context, token) tuples: the teacher chose its tokens preferring green ones, so
 * the set of emitted tuples is enriched in green tuples. Scoring only suspect tuples that the teacher
 * also emitted would select green tuples even in a model that never saw the watermarked text, and the
 * null distribution would no longer hold. Whether a context was served depends on PRF values of other
 * tuples only, so under H0 the scored token's PRF value stays independent of the filter.
 *
 * Representation: a Bloom filter (Bloom 1970) over 64-bit keyed context ids, with m bits and k probes
 * by double hashing (Kirsch & Mitzenmacher 2006). For n recorded contexts and false-positive rate f,
 * m = −n·ln f / (ln 2)² bits: 9.6 bits (1.2 bytes) per context at f = 1 %. A false positive only lets
 * an extra context through, which keeps the test valid. Filters of equal shape merge by OR.
 */
import { TokenmarkError } from './errors.js'
import { withContext, type ContextFilter, type PreparedKey } from './scoring.js'

const MAGIC = 0x46454d54 // "TMEF"

export class EmissionFilter implements ContextFilter {
  readonly bits: Uint32Array
  readonly m: number
  readonly k: number
  /** Contexts recorded (with repeats). */
  added = 0

  constructor(opts: { capacity: number; falsePositiveRate?: number } | { m: number; k: number }) {
    if ('capacity' in opts) {
      const f = opts.falsePositiveRate ?? 0.01
      if (!(opts.capacity >= 1) || !(f > 0 && f < 1)) throw new TokenmarkError('E_BAD_PARAM', 'emission filter needs capacity ≥ 1 and 0 < falsePositiveRate < 1')
      const m = Math.ceil((-opts.capacity * Math.log(f)) / (Math.LN2 * Math.LN2))
      this.m = Math.max(64, Math.ceil(m / 32) * 32)
      this.k = Math.max(1, Math.round((this.m / opts.capacity) * Math.LN2))
    } else {
      this.m = opts.m
      this.k = opts.k
    }
    if (this.m % 32 !== 0 || this.m < 32 || this.k < 1 || this.k > 32) throw new TokenmarkError('E_BAD_PARAM', 'bad emission filter shape')
    this.bits = new Uint32Array(this.m / 32)
  }

  add(hi: number, lo: number): void {
    const m = this.m
    const step = (hi | 1) >>> 0
    let h = lo >>> 0
    for (let i = 0; i < this.k; i++) {
      const b = h % m
      this.bits[b >>> 5] |= 1 << (b & 31)
      h = (h + step) >>> 0
    }
    this.added++
  }

  hasContext(hi: number, lo: number): boolean {
    const m = this.m
    const step = (hi | 1) >>> 0
    let h = lo >>> 0
    for (let i = 0; i < this.k; i++) {
      const b = h % m
      if ((this.bits[b >>> 5] & (1 << (b & 31))) === 0) return false
      h = (h + step) >>> 0
    }
    return true
  }

  /** Records every watermarked position of a response (the prompt serves as context only). */
  recordResponse(pk: PreparedKey, ids: ArrayLike<number>, promptIds?: ArrayLike<number>): void {
    const prf = pk.prf
    if (prf.seeding.rule === 'none') throw new TokenmarkError('E_BAD_PARAM', 'emission filters need a context-seeded scheme (unigram has no context)')
    const [all, offset] = withContext(ids, promptIds)
    for (let pos = Math.max(offset, prf.need); pos < all.length; pos++) {
      prf.setContext(all, pos)
      const [hi, lo] = prf.contextId(all, pos)
      this.add(hi, lo)
    }
  }

  /** Fraction of bits set; the filter's current false-positive rate is about fill^k. */
  get fill(): number {
    let set = 0
    for (let i = 0; i < this.bits.length; i++) {
      let x = this.bits[i]
      x = x - ((x >>> 1) & 0x55555555)
      x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
      set += Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24
    }
    return set / this.m
  }

  get falsePositiveRate(): number {
    return this.fill ** this.k
  }

  merge(other: EmissionFilter): this {
    if (other.m !== this.m || other.k !== this.k) throw new TokenmarkError('E_BAD_PARAM', 'emission filters of different shapes cannot merge')
    for (let i = 0; i < this.bits.length; i++) this.bits[i] |= other.bits[i]
    this.added += other.added
    return this
  }

  /** Bytes: "TMEF", u32 m, u32 k, f64 added, then the bit array little-endian. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(20 + this.bits.byteLength)
    const dv = new DataView(out.buffer)
    dv.setUint32(0, MAGIC, true)
    dv.setUint32(4, this.m, true)
    dv.setUint32(8, this.k, true)
    dv.setFloat64(12, this.added, true)
    for (let i = 0; i < this.bits.length; i++) dv.setUint32(20 + 4 * i, this.bits[i], true)
    return out
  }

  static fromBytes(bytes: Uint8Array): EmissionFilter {
    const bad = (why: string) => new TokenmarkError('E_BAD_INPUT', `not an emission filter: ${why}`)
    if (bytes.length < 20) throw bad('too short')
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    if (dv.getUint32(0, true) !== MAGIC) throw bad('wrong magic')
    const m = dv.getUint32(4, true)
    const k = dv.getUint32(8, true)
    if (m % 32 !== 0 || m < 32 || k < 1 || k > 32 || bytes.length !== 20 + m / 8) throw bad('bad shape')
    const f = new EmissionFilter({ m, k })
    f.added = dv.getFloat64(12, true)
    for (let i = 0; i < f.bits.length; i++) f.bits[i] = dv.getUint32(20 + 4 * i, true)
    return f
  }
}
