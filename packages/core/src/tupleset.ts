/**
 * A set of (context, token) tuples, each identified by lanes 0 and 1 of its PRF output: a 64-bit
 * value, stored as two u32 in an open-addressing table (linear probing, load ≤ 3/4). A collision
 * between two distinct tuples only drops one of them, which keeps every test valid (docs/spec.md#dedup).
 * Because a tuple's observation is a function of its PRF words, the set alone is enough to merge
 * accumulators: the other side's contribution is recomputed from the stored words.
 *
 * A tuple's home slot is the top bits of w1 (a uniform PRF word), so slot order is w1 order up to the
 * order inside a cluster: growing re-inserts the old table front to back into nearly consecutive slots
 * (streaming, not a cache miss per tuple), and `toWords` lists the set in ascending (w1, w0) order by
 * sorting each cluster, so its bytes depend on the set alone, not on the order of insertion or the table's
 * history (docs/spec.md#accumulator-bytes).
 */

/** Membership test over tuple words; implemented by TupleSet and by emission filters. */
export interface TupleFilter {
  has(w0: number, w1: number): boolean
}

/**
 * The table of a set that has never held a tuple: shared and never written, since add and reserve replace it
 * with a table of the set's initial capacity first. Detection builds two sets per key per text (seen and
 * excluded tuples), and the excluded one stays empty unless a prompt is given; a typed array of this size
 * lives outside the heap, so allocating it was a measurable part of detecting a short text (issue 12).
 */
const EMPTY_TABLE = new Uint32Array(2)

export class TupleSet implements TupleFilter {
  private table: Uint32Array
  /** Slots − 1 (slots are a power of two), for wrapping around. */
  private mask: number
  /** 32 − log2(slots): a tuple's home slot is w1 >>> shift. */
  private shift: number
  /** Slots of the first real table: the same as when it was allocated eagerly, so layouts (and forEach order) are unchanged. */
  private readonly initialCap: number
  size = 0

  constructor(capacityHint = 1024) {
    let cap = 16
    while (cap * 0.75 < capacityHint) cap *= 2
    this.initialCap = cap
    this.table = EMPTY_TABLE
    this.mask = 0
    this.shift = 31
  }

  /** (0, 0) marks an empty slot; the one tuple with that value is stored as (0, 1). */
  static canon(w0: number, w1: number): number {
    return w0 === 0 && w1 === 0 ? 1 : w1
  }

  /** Adds the tuple; true when it was not present. */
  add(w0: number, w1: number): boolean {
    if (this.table === EMPTY_TABLE) this.rehash(this.initialCap)
    w1 = TupleSet.canon(w0, w1)
    const t = this.table
    let i = w1 >>> this.shift
    for (;;) {
      const a = t[2 * i]
      const b = t[2 * i + 1]
      if (a === 0 && b === 0) break
      if (a === w0 && b === w1) return false
      i = (i + 1) & this.mask
    }
    t[2 * i] = w0
    t[2 * i + 1] = w1
    this.size++
    if (this.size > (this.mask + 1) * 0.75) this.grow()
    return true
  }

  /**
   * `add` for tuples (words[2k], words[2k + 1]), k < count, which it rewrites in canonical form (`canon`):
   * sets fresh[k] to 1 for a tuple that was new, 0 for one already present (or earlier in the batch).
   * One loop over locals: scoring feeds every token through here.
   */
  addBatch(words: Uint32Array, count: number, fresh: Uint8Array): number {
    this.reserve(this.size + count)
    const t = this.table
    const mask = this.mask
    const shift = this.shift
    let added = 0
    for (let k = 0; k < count; k++) {
      const w0 = words[2 * k]
      let w1 = words[2 * k + 1]
      if (w0 === 0 && w1 === 0) words[2 * k + 1] = w1 = 1
      let i = w1 >>> shift
      let isNew = 1
      for (;;) {
        const a = t[2 * i]
        const b = t[2 * i + 1]
        if (a === 0 && b === 0) break
        if (a === w0 && b === w1) {
          isNew = 0
          break
        }
        i = (i + 1) & mask
      }
      fresh[k] = isNew
      if (isNew === 1) {
        t[2 * i] = w0
        t[2 * i + 1] = w1
        added++
      }
    }
    this.size += added
    return added
  }

  has(w0: number, w1: number): boolean {
    if (this.size === 0) return false
    w1 = TupleSet.canon(w0, w1)
    const t = this.table
    let i = w1 >>> this.shift
    for (;;) {
      const a = t[2 * i]
      const b = t[2 * i + 1]
      if (a === 0 && b === 0) return false
      if (a === w0 && b === w1) return true
      i = (i + 1) & this.mask
    }
  }

  /** Grows the table once so that `n` tuples fit without further rehashing. */
  reserve(n: number): void {
    const empty = this.table === EMPTY_TABLE
    let cap = empty ? this.initialCap : this.mask + 1
    while (cap * 0.75 < n) cap *= 2
    if (empty || cap > this.mask + 1) this.rehash(cap)
  }

  /** Removes the tuple; true when it was present (backward-shift deletion keeps probe chains intact). */
  delete(w0: number, w1: number): boolean {
    if (this.size === 0) return false
    w1 = TupleSet.canon(w0, w1)
    const t = this.table
    const mask = this.mask
    const shift = this.shift
    let i = w1 >>> shift
    for (;;) {
      const a = t[2 * i]
      const b = t[2 * i + 1]
      if (a === 0 && b === 0) return false
      if (a === w0 && b === w1) break
      i = (i + 1) & mask
    }
    // Shift later members of the cluster back into the hole when their home slot allows it.
    let hole = i
    let j = i
    for (;;) {
      j = (j + 1) & mask
      const a = t[2 * j]
      const b = t[2 * j + 1]
      if (a === 0 && b === 0) break
      const home = b >>> shift
      // j's entry may move to `hole` unless its home lies cyclically in (hole, j]
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j
      if (!inRange) {
        t[2 * hole] = a
        t[2 * hole + 1] = b
        hole = j
      }
    }
    t[2 * hole] = 0
    t[2 * hole + 1] = 0
    this.size--
    return true
  }

  forEach(fn: (w0: number, w1: number) => void): void {
    const t = this.table
    for (let i = 0; i < t.length; i += 2) if (t[i] !== 0 || t[i + 1] !== 0) fn(t[i], t[i + 1])
  }

  /** Bytes the table occupies (for the memory-per-tuple figure). */
  get byteLength(): number {
    return this.table.byteLength
  }

  /**
   * The members as u32 pairs (w0, w1) in ascending order of (w1, w0) (as little-endian u64s: w0 + w1·2^32),
   * 8·size bytes: a function of the set alone. Clusters (runs of occupied slots) hold tuples in the order
   * of their homes, so sorting each cluster sorts the whole, except the cluster that wraps around the end of
   * the table: its tuples homed before the first empty slot go first, the rest last.
   */
  toWords(): Uint32Array {
    const out = new Uint32Array(this.size * 2)
    if (this.size === 0) return out
    const t = this.table
    const slots = this.mask + 1
    let first = 0 // the first empty slot (one exists: load ≤ 3/4)
    while (t[2 * first] !== 0 || t[2 * first + 1] !== 0) first++
    let last = slots - 1 // the last empty slot
    while (t[2 * last] !== 0 || t[2 * last + 1] !== 0) last--
    // The wrapping cluster: slots (last, slots) then [0, first).
    const wrap: number[] = []
    for (let i = last + 1; i < slots; i++) wrap.push(t[2 * i], t[2 * i + 1])
    for (let i = 0; i < first; i++) wrap.push(t[2 * i], t[2 * i + 1])
    const wrapped = Uint32Array.from(wrap)
    sortPairs(wrapped, 0, wrapped.length)
    let low = 0 // wrapped tuples homed in [0, first) sort before every other cluster
    while (low < wrapped.length && wrapped[low + 1] >>> this.shift < first) low += 2
    out.set(wrapped.subarray(0, low), 0)
    let o = low
    for (let i = first; i <= last; i++) {
      if (t[2 * i] === 0 && t[2 * i + 1] === 0) continue
      const start = o
      for (; i <= last && (t[2 * i] !== 0 || t[2 * i + 1] !== 0); i++) {
        out[o++] = t[2 * i]
        out[o++] = t[2 * i + 1]
      }
      sortPairs(out, start, o)
    }
    out.set(wrapped.subarray(low), o)
    return out
  }

  static fromWords(words: Uint32Array): TupleSet {
    const s = new TupleSet(words.length / 2)
    for (let i = 0; i + 1 < words.length; i += 2) s.add(words[i], words[i + 1])
    return s
  }

  private grow(): void {
    this.rehash(2 * (this.mask + 1))
  }

  private rehash(cap: number): void {
    const old = this.table
    this.table = new Uint32Array(cap * 2)
    // Write every page before probing reads it: a fresh mapping read first maps the shared zero page, and the
    // first write then replaces it and flushes the TLB of every core this process runs on (an interrupt per
    // page; with two scan threads that doubled the insert time here).
    this.table.fill(0)
    this.mask = cap - 1
    this.shift = Math.clz32(cap) + 1
    this.size = 0
    for (let i = 0; i < old.length; i += 2) if (old[i] !== 0 || old[i + 1] !== 0) this.add(old[i], old[i + 1])
  }
}

/** Sorts pairs words[from..to) (u32 pairs) by (w1, w0): insertion sort, as clusters are a few slots long. */
function sortPairs(words: Uint32Array, from: number, to: number): void {
  if (to - from > 64) {
    // A long cluster (unlikely at load ≤ 3/4): as u64s, w1 in the high word.
    const pairs = new BigUint64Array(words.slice(from, to).buffer).sort()
    words.set(new Uint32Array(pairs.buffer), from)
    return
  }
  for (let i = from + 2; i < to; i += 2) {
    const a = words[i]
    const b = words[i + 1]
    let j = i - 2
    while (j >= from && (words[j + 1] > b || (words[j + 1] === b && words[j] > a))) {
      words[j + 2] = words[j]
      words[j + 3] = words[j + 1]
      j -= 2
    }
    words[j + 2] = a
    words[j + 3] = b
  }
}
