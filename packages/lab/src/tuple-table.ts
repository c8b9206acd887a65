/**
 * An open-addressing hash index over fixed-width tuples of u32 (token-id n-grams and contexts).
 * Keys live packed in one `Uint32Array` (entry i occupies `keys[i*width .. (i+1)*width)`), entries
 * keep their insertion order, and slots hold entry indices with linear probing — so the whole index
 * is a handful of typed arrays: small, cache-friendly, and serialisable as-is.
 *
 * Measured against a `Map<string, number>` keyed by the ids joined with ',' on Moby Dick order-4
 * contexts (see README, "Storage"): lookups are several times faster and the heap is a fraction, because
 * no string is built per query.
 */
export class TupleTable {
  readonly width: number
  /** Packed keys, `size * width` used. */
  keys: Uint32Array
  /** Number of entries. */
  size = 0
  private slots: Int32Array
  private mask: number

  constructor(width: number, expected = 16) {
    this.width = width
    let cap = 16
    while (cap < expected * 2) cap *= 2
    this.slots = new Int32Array(cap).fill(-1)
    this.mask = cap - 1
    this.keys = new Uint32Array(Math.max(1, expected) * Math.max(1, width))
  }

  /** Builds an index over `count` packed keys (as stored by a previous table), entry i = key i. */
  static fromKeys(width: number, keys: Uint32Array, count: number): TupleTable {
    const t = new TupleTable(width, count)
    t.keys = keys
    for (let i = 0; i < count; i++) {
      if (t.insertSlot(keys, i * width, i) !== i) throw new Error('TupleTable.fromKeys: duplicate key')
    }
    t.size = count
    return t
  }

  /** Entry index of the tuple `src[off .. off+width)`, or -1. */
  find(src: ArrayLike<number>, off: number): number {
    const w = this.width
    const keys = this.keys
    let s = hashTuple(src, off, w) & this.mask
    for (;;) {
      const e = this.slots[s]
      if (e < 0) return -1
      let k = e * w
      let j = 0
      while (j < w && keys[k] === src[off + j]) {
        k++
        j++
      }
      if (j === w) return e
      s = (s + 1) & this.mask
    }
  }

  /** Entry index of the tuple, inserting it (as the next entry) if absent. */
  add(src: ArrayLike<number>, off: number): number {
    if ((this.size + 1) * 2 > this.slots.length) this.grow()
    const e = this.insertSlot(src, off, this.size)
    if (e === this.size) {
      const w = this.width
      if ((e + 1) * w > this.keys.length) {
        const bigger = new Uint32Array(Math.max(16, this.keys.length * 2))
        bigger.set(this.keys)
        this.keys = bigger
      }
      for (let j = 0; j < w; j++) this.keys[e * w + j] = src[off + j]
      this.size++
    }
    return e
  }

  /** Finds the tuple's slot; if absent, claims a slot for `entry` (keys are written by the caller). */
  private insertSlot(src: ArrayLike<number>, off: number, entry: number): number {
    const w = this.width
    const keys = this.keys
    let s = hashTuple(src, off, w) & this.mask
    for (;;) {
      const e = this.slots[s]
      if (e < 0) {
        this.slots[s] = entry
        return entry
      }
      let k = e * w
      let j = 0
      while (j < w && keys[k] === src[off + j]) {
        k++
        j++
      }
      if (j === w) return e
      s = (s + 1) & this.mask
    }
  }

  private grow(): void {
    const cap = this.slots.length * 2
    this.slots = new Int32Array(cap).fill(-1)
    this.mask = cap - 1
    for (let i = 0; i < this.size; i++) this.insertSlot(this.keys, i * this.width, i)
  }
}

/** 32-bit hash of a u32 tuple: a multiply–xorshift mix per word, murmur3's finaliser at the end. */
function hashTuple(src: ArrayLike<number>, off: number, width: number): number {
  let h = 0x9e3779b9 ^ width
  for (let j = 0; j < width; j++) {
    h = Math.imul(h ^ src[off + j], 0x85ebca6b)
    h ^= h >>> 13
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}
