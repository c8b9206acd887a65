/**
 * Byte-level BPE merge with tiktoken's rule (tiktoken src/lib.rs, `byte_pair_merge`): start from the piece's
 * single bytes; repeatedly merge the adjacent pair of parts whose concatenation is the token of lowest rank,
 * the leftmost such pair on ties; stop when no adjacent pair concatenates to a token. Ranks are token ids.
 *
 * tiktoken and gpt-tokenizer rescan every pair after each merge (O(m²) for m bytes). Here the pairs sit in a
 * binary heap keyed by (rank, position) with lazy deletion, which pops exactly the pair tiktoken picks, so the
 * ids are the same in O(m log m). Token lookups hash the byte range (FNV-1a) into an open-addressing table over
 * the id → bytes table, so a lookup allocates nothing; a direct-mapped cache of (left id, right id) → merged id
 * in front of it makes the pairs that repeat (runs of one symbol or of spaces grow long parts, whose byte
 * hash would cost their length) cost O(1). Scratch arrays are reused across calls. A piece that is a run of one
 * byte — the input that merges into the longest tokens, and that a hostile text repeats in pieces of the bound's
 * length — is merged once per (byte, length) and remembered.
 */

/**
 * Heap keys are rank · 2^13 + position, in an Int32Array: positions below 2^13 (pieces of at most 8,192 bytes,
 * ./bound.ts) and ranks below 2^18 (o200k_base's largest is 199,997) fit in 31 bits.
 */
const POS_BITS = 13
const MAX_PIECE = 1 << POS_BITS
const MAX_RANK = 1 << 18

/** Runs of one byte remembered (each at most 8,192 ids; ~4,000 on o200k_base, where runs merge into long tokens). */
const RUN_ENTRIES = 256

/** Pair cache: 2^15 direct-mapped entries (384 KiB). */
const PAIR_BITS = 15

export class BytePairMerger {
  readonly #bytes: Uint8Array
  readonly #start: Uint32Array
  /** Open addressing, linear probing: id + 1, or 0 for an empty slot. */
  readonly #slots: Int32Array
  readonly #mask: number
  /** Token id of each single byte, or -1. */
  readonly #single = new Int32Array(256).fill(-1)
  #next = new Int32Array(0)
  #prev = new Int32Array(0)
  #token = new Int32Array(0)
  #pair = new Int32Array(0)
  #heap = new Int32Array(0)
  readonly #pairLeft = new Int32Array(1 << PAIR_BITS).fill(-1)
  readonly #pairRight = new Int32Array(1 << PAIR_BITS)
  readonly #pairId = new Int32Array(1 << PAIR_BITS)
  /** Merged ids of runs of one byte, by byte · (MAX_PIECE + 1) + length; cleared when full. */
  readonly #runs = new Map<number, number[]>()

  /**
   * `bytes`/`start`: token i is bytes[start[i] .. start[i + 1]), empty for an unused id. Ids 0 .. count − 1 are
   * the mergeable tokens (special tokens, which BPE never produces, must not be among them).
   */
  constructor(bytes: Uint8Array, start: Uint32Array, count: number) {
    if (count > MAX_RANK) throw new RangeError(`BytePairMerger: ${count} tokens; at most ${MAX_RANK} fit its heap keys`)
    this.#bytes = bytes
    this.#start = start
    let size = 1
    while (size < 2 * count) size *= 2
    this.#slots = new Int32Array(size)
    this.#mask = size - 1
    for (let id = 0; id < count; id++) {
      const a = start[id]
      const b = start[id + 1]
      if (a === b) continue
      let s = hash(bytes, a, b) & this.#mask
      while (this.#slots[s] !== 0) s = (s + 1) & this.#mask
      this.#slots[s] = id + 1
      if (b - a === 1) this.#single[bytes[a]] = id
    }
  }

  /** Id of the token spelled by src[from .. to), or -1. */
  rank(src: Uint8Array, from: number, to: number): number {
    const bytes = this.#bytes
    const start = this.#start
    const len = to - from
    let s = hash(src, from, to) & this.#mask
    for (;;) {
      const e = this.#slots[s]
      if (e === 0) return -1
      const id = e - 1
      const a = start[id]
      if (start[id + 1] - a === len) {
        let k = 0
        while (k < len && bytes[a + k] === src[from + k]) k++
        if (k === len) return id
      }
      s = (s + 1) & this.#mask
    }
  }

  /** Id of the token spelled by tokens `left` then `right` (which src[from .. to) spells), or -1. */
  #merged(left: number, right: number, src: Uint8Array, from: number, to: number): number {
    const slot = Math.imul(left ^ Math.imul(right, 0x85ebca6b), 0x9e3779b1) >>> (32 - PAIR_BITS)
    if (this.#pairLeft[slot] === left && this.#pairRight[slot] === right) return this.#pairId[slot]
    const id = this.rank(src, from, to)
    this.#pairLeft[slot] = left
    this.#pairRight[slot] = right
    this.#pairId[slot] = id
    return id
  }

  /**
   * Append the ids of src[from .. to), merged, to `out`. Every byte must be a token (true of tiktoken's
   * encodings); at most 8,192 bytes (the bound of ./bound.ts).
   */
  merge(src: Uint8Array, from: number, to: number, out: number[]): void {
    const m = to - from
    if (m > MAX_PIECE) throw new RangeError(`BytePairMerger.merge: ${m} bytes; cut pieces at ${MAX_PIECE} (bound.ts)`)
    if (m <= 0) return
    if (m === 1) {
      out.push(this.#single[src[from]])
      return
    }
    // A run of one byte (spaces, `=`, `x`…) merges into the longest tokens, the costliest input a pre-token can be,
    // and a hostile text repeats it in pieces of the same length: its ids depend only on (byte, length).
    const b0 = src[from]
    let run = true
    for (let p = from + 1; p < to; p++)
      if (src[p] !== b0) {
        run = false
        break
      }
    if (run) {
      const key = b0 * (MAX_PIECE + 1) + m
      const known = this.#runs.get(key)
      if (known !== undefined) {
        for (let k = 0; k < known.length; k++) out.push(known[k])
        return
      }
      const first = out.length
      this.#mergeHeap(src, from, to, out)
      if (this.#runs.size >= RUN_ENTRIES) this.#runs.clear()
      this.#runs.set(key, out.slice(first))
      return
    }
    this.#mergeHeap(src, from, to, out)
  }

  #mergeHeap(src: Uint8Array, from: number, to: number, out: number[]): void {
    const m = to - from
    this.#reserve(m)
    const next = this.#next
    const prev = this.#prev
    const token = this.#token
    const pair = this.#pair
    const heap = this.#heap
    let size = 0
    for (let p = 0; p < m; p++) {
      next[p] = p + 1
      prev[p] = p - 1
      token[p] = this.#single[src[from + p]]
    }
    for (let p = 0; p + 1 < m; p++) {
      const r = this.#merged(token[p], token[p + 1], src, from + p, from + p + 2)
      pair[p] = r
      if (r >= 0) size = push(heap, size, (r << POS_BITS) | p)
    }
    pair[m - 1] = -1
    while (size > 0) {
      const key = heap[0]
      size = pop(heap, size)
      const r = key >>> POS_BITS
      const p = key & (MAX_PIECE - 1)
      // Stale: part p was absorbed (token -1) or its pair changed since (a part only grows, so its pair's
      // rank never comes back to an old value).
      if (token[p] < 0 || pair[p] !== r) continue
      const q = next[p]
      token[p] = r
      token[q] = -1
      const after = next[q]
      next[p] = after
      if (after < m) {
        prev[after] = p
        const rr = this.#merged(r, token[after], src, from + p, from + next[after])
        pair[p] = rr
        if (rr >= 0) size = push(heap, size, (rr << POS_BITS) | p)
      } else pair[p] = -1
      const before = prev[p]
      if (before >= 0) {
        const rl = this.#merged(token[before], r, src, from + before, from + after)
        pair[before] = rl
        if (rl >= 0) size = push(heap, size, (rl << POS_BITS) | before)
      }
    }
    for (let p = 0; p < m; p = next[p]) out.push(token[p])
  }

  #reserve(m: number): void {
    if (this.#next.length >= m) return
    const n = Math.max(m, 2 * this.#next.length, 64)
    this.#next = new Int32Array(n)
    this.#prev = new Int32Array(n)
    this.#token = new Int32Array(n)
    this.#pair = new Int32Array(n)
    // m − 1 initial pairs, then at most two pushes per merge (m − 1 merges).
    this.#heap = new Int32Array(3 * n)
  }
}

function hash(src: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5
  for (let i = from; i < to; i++) h = Math.imul(h ^ src[i], 0x01000193)
  return h >>> 0
}

// A 4-ary heap: half the levels of a binary one, and a node's four children share a cache line.
function push(heap: Int32Array, size: number, key: number): number {
  let i = size
  while (i > 0) {
    const parent = (i - 1) >> 2
    if (heap[parent] <= key) break
    heap[i] = heap[parent]
    i = parent
  }
  heap[i] = key
  return size + 1
}

/** Remove heap[0]; returns the new size. */
function pop(heap: Int32Array, size: number): number {
  const n = size - 1
  const last = heap[n]
  let i = 0
  for (;;) {
    const first = 4 * i + 1
    if (first >= n) break
    let c = first
    let min = heap[first]
    const end = Math.min(first + 4, n)
    for (let j = first + 1; j < end; j++) {
      if (heap[j] < min) {
        min = heap[j]
        c = j
      }
    }
    if (min >= last) break
    heap[i] = min
    i = c
  }
  heap[i] = last
  return n
}
