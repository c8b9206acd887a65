/**
 * Sharded exact scans (docs/spec.md#shards).
 *
 * The (key, context, token) tuple space is partitioned by the tuple's PRF value: tuple (w0, w1) belongs to
 * shard ⌊fmix32(w0 ⊕ (w1·0x9E3779B9 mod 2^32))·S / 2^32⌋ (shardOf). Every shard reads the whole corpus (same tokenizer, prompts, filter and order) but
 * keeps only its own tuples, so it de-duplicates exactly on its own: whether an occurrence is scored,
 * a duplicate or excluded depends only on earlier events of the same tuple, which all fall in the same
 * shard and in the same order. Hence per-tuple counts (scored, duplicate, excluded) and the statistic add
 * up over shards to the single-process values, and the corpus-wide counts (tokens seen, no context,
 * texts) are the same in every shard and are taken once — their agreement is
 * checked, so parts of different corpora do not merge. (Tokens outside the emission filter are per tuple:
 * such a tuple counts as excluded when its shard has excluded it, as in scoreTokens.) The Gamma statistic is an exact sum
 * (stats/exactsum.ts), so the merged result is the single-process one bit for bit.
 *
 * Why a mix of both words: watermarked text over-represents tuples with large w0 (w0 carries the green
 * bit and the Gumbel uniform), so w0 alone would put most of a watermarked corpus in one shard; and
 * TupleSet homes a tuple by w1's low bits, which must stay uniform within a shard. Memory per shard is
 * the de-duplication set of about 1/S of the distinct tuples.
 *
 * A shard's part travels as `.tmacc` bytes (shardPartToBytes), named by its SHA-256; a merge records the
 * parts' hashes and their Merkle root (RFC 6962 §2.1), so evidence can name exactly what was merged.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { Accumulator } from './accumulate.js'
import { toHex } from './bytes.js'
import type { CorpusOptions } from './corpus.js'
import { corpusResult, type CorpusResult } from './corpus.js'
import { TokenmarkError } from './errors.js'
import type { WatermarkKey } from './keys.js'
import { prepareKey, type PreparedKey } from './scoring.js'
import { replayEvents, shardOf, TupleRouter, type RouteCounts } from './shard-route.js'
import { getTokenizer } from './tokenizers/registry.js'
import type { Tokenizer } from './tokenizers/types.js'

/** Shard `index` of `count` (0 ≤ index < count ≤ MAX_SHARDS). */
export interface ShardSpec {
  index: number
  count: number
}

export const MAX_SHARDS = 65536

export { shardOf }


function checkSpec(s: ShardSpec): void {
  if (!(Number.isInteger(s.count) && s.count >= 1 && s.count <= MAX_SHARDS)) throw new TokenmarkError('E_BAD_PARAM', `shard count must be an integer in [1, ${MAX_SHARDS}]`)
  if (!(Number.isInteger(s.index) && s.index >= 0 && s.index < s.count)) throw new TokenmarkError('E_BAD_PARAM', `shard index must be an integer in [0, ${s.count - 1}]`)
}

/** "i/S" → { index: i, count: S } (the CLI's --shard form). */
export function parseShardSpec(text: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim())
  if (!m) throw new TokenmarkError('E_BAD_PARAM', `shard must be written i/S (e.g. 0/4), not "${text}"`)
  const spec = { index: Number(m[1]), count: Number(m[2]) }
  checkSpec(spec)
  return spec
}

/**
 * An accumulator that keeps only the tuples of one shard. Scoring code (scoreTokens, scoreSample) uses it
 * like any accumulator: tuples of other shards are dropped before de-duplication and counted nowhere.
 */
export class ShardAccumulator extends Accumulator {
  readonly shard: ShardSpec

  constructor(pk: PreparedKey, shard: ShardSpec) {
    super(pk, { dedup: true })
    checkSpec(shard)
    this.shard = shard
  }

  private mine(w0: number, w1: number): boolean {
    return shardOf(w0, w1, this.shard.count) === this.shard.index
  }

  override addTuple(w0: number, w1: number): number {
    return this.mine(w0, w1) ? super.addTuple(w0, w1) : NaN
  }

  override addWords(words: Uint32Array, count: number, out?: Float64Array): void {
    if (out !== undefined) {
      for (let k = 0; k < count; k++) out[k] = this.addTuple(words[2 * k], words[2 * k + 1])
      return
    }
    // Compact this shard's tuples to the front, in order (the caller's buffer is scratch).
    const { index, count: s } = this.shard
    let m = 0
    for (let k = 0; k < count; k++) {
      const w0 = words[2 * k]
      const w1 = words[2 * k + 1]
      if (shardOf(w0, w1, s) !== index) continue
      words[2 * m] = w0
      words[2 * m + 1] = w1
      m++
    }
    super.addWords(words, m)
  }

  override excludeTuple(w0: number, w1: number): void {
    if (this.mine(w0, w1)) super.excludeTuple(w0, w1)
  }
}

/** One shard's evidence: the accumulator and the number of texts read (the same in every shard). */
export interface ShardPart {
  shard: ShardSpec
  texts: number
  /** Whether an emission filter restricted the scan (every shard must agree). */
  filter: boolean
  accumulator: Accumulator
}

/**
 * The corpus test over one shard: CorpusScanner's rules, routed (shard-route.ts) and replayed at once into a
 * ShardAccumulator. Every shard of a scan must be given the same texts, prompts, filter and options in the
 * same order.
 */
export class ShardScanner {
  readonly accumulator: ShardAccumulator
  readonly tokenizer: Tokenizer
  private readonly router: TupleRouter
  private readonly filter: boolean

  constructor(key: WatermarkKey, shard: ShardSpec, opts: CorpusOptions = {}) {
    if (opts.dedup === false) throw new TokenmarkError('E_BAD_PARAM', 'sharded scans partition the de-duplication set; they need de-duplication on')
    const pk = prepareKey(key)
    this.tokenizer = opts.tokenizer ?? getTokenizer(key.config.tokenizer)
    this.accumulator = new ShardAccumulator(pk, shard)
    this.filter = opts.filter !== undefined
    this.router = new TupleRouter(pk, shard.count, { tokenizer: this.tokenizer, normalize: opts.normalize, filter: opts.filter, keep: (s) => s === shard.index })
    for (const p of opts.prompts ?? []) this.excludePrompt(p)
  }

  excludePrompt(prompt: string): void {
    this.router.excludePrompt(prompt)
    this.flush()
  }

  add(text: string, opts: { prompt?: string } = {}): void {
    this.router.add(text, opts.prompt)
    this.flush()
  }

  private flush(): void {
    replayEvents(this.accumulator, this.router.take(this.accumulator.shard.index))
    this.accumulator.tokensTotal = this.router.counts.tokensTotal
    this.accumulator.skipped.noContext = this.router.counts.noContext
  }

  part(): ShardPart {
    return { shard: this.accumulator.shard, texts: this.router.counts.texts, filter: this.filter, accumulator: this.accumulator }
  }
}

/** One block of texts routed for one shard: its events and the block's corpus-wide counts. */
export interface RoutedBlock {
  events: Uint32Array
  counts: RouteCounts
}

/**
 * A shard's part from the blocks a corpus was routed in (TupleRouter per block of texts, in corpus order):
 * the two-phase form of ShardScanner, where tokenization and PRF work is split by texts across routers and
 * de-duplication by tuples across shards. Blocks must be given in corpus order.
 */
export function reduceShard(key: WatermarkKey, shard: ShardSpec, blocks: readonly RoutedBlock[], opts: { filter?: boolean } = {}): ShardPart {
  const acc = new ShardAccumulator(prepareKey(key), shard)
  let texts = 0
  for (const b of blocks) {
    replayEvents(acc, b.events)
    acc.tokensTotal += b.counts.tokensTotal
    acc.skipped.noContext += b.counts.noContext
    texts += b.counts.texts
  }
  return { shard, texts, filter: opts.filter ?? false, accumulator: acc }
}

const PART_MAGIC = 0x48534d54 // "TMSH" little-endian
const PART_VERSION = 1
const PART_HEADER = 32

/**
 * `.tmacc` bytes (docs/spec.md#shard-bytes): "TMSH", version u8 = 1, flags u8 (bit 0: an emission filter
 * was applied), two zero bytes, shard index u32,
 * shard count u32, texts f64, accumulator length u32, four zero bytes, then the accumulator's own bytes
 * (docs/spec.md#accumulator-bytes).
 */
export function shardPartToBytes(part: ShardPart): Uint8Array {
  const acc = part.accumulator.toBytes()
  const out = new Uint8Array(PART_HEADER + acc.length)
  const dv = new DataView(out.buffer)
  dv.setUint32(0, PART_MAGIC, true)
  dv.setUint8(4, PART_VERSION)
  dv.setUint8(5, part.filter ? 1 : 0)
  dv.setUint32(8, part.shard.index, true)
  dv.setUint32(12, part.shard.count, true)
  dv.setFloat64(16, part.texts, true)
  dv.setUint32(24, acc.length, true)
  out.set(acc, PART_HEADER)
  return out
}

/** Reads `.tmacc` bytes for a key; rejects other versions, keys and malformed bytes. */
export function shardPartFromBytes(bytes: Uint8Array, pk: PreparedKey): ShardPart {
  const bad = (why: string) => new TokenmarkError('E_ACCUMULATOR_FORMAT', `shard part is invalid: ${why}`)
  if (bytes.length < PART_HEADER) throw bad('too short')
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (dv.getUint32(0, true) !== PART_MAGIC) throw bad('not a .tmacc shard part')
  if (dv.getUint8(4) !== PART_VERSION) throw bad(`unsupported version ${dv.getUint8(4)}`)
  const shard = { index: dv.getUint32(8, true), count: dv.getUint32(12, true) }
  try {
    checkSpec(shard)
  } catch {
    throw bad('bad shard index or count')
  }
  if ((dv.getUint8(5) & ~1) !== 0 || dv.getUint16(6, true) !== 0 || dv.getUint32(28, true) !== 0) throw bad('reserved bits set')
  const filter = (dv.getUint8(5) & 1) === 1
  const texts = dv.getFloat64(16, true)
  if (!(Number.isInteger(texts) && texts >= 0)) throw bad('bad text count')
  if (dv.getUint32(24, true) !== bytes.length - PART_HEADER) throw bad('length does not match')
  const accumulator = Accumulator.fromBytes(bytes.subarray(PART_HEADER), pk)
  if (!accumulator.dedup) throw bad('a shard part needs de-duplication')
  let foreign = false
  accumulator.seen?.forEach((w0, w1) => {
    if (shardOf(w0, w1, shard.count) !== shard.index) foreign = true
  })
  if (foreign) throw bad(`it holds tuples outside shard ${shard.index}/${shard.count}`)
  return { shard, texts, filter, accumulator }
}

/** A part's name: the SHA-256 of its bytes, hex. */
export function shardPartHash(bytes: Uint8Array): string {
  return toHex(sha256(bytes))
}

/**
 * Merkle tree hash of RFC 6962 §2.1 over the parts' SHA-256 values (in shard order): leaf = SHA-256(0x00 ‖ h),
 * node = SHA-256(0x01 ‖ left ‖ right), split at the largest power of two below n. Hex.
 */
export function merkleRoot(hashesHex: readonly string[]): string {
  const hexBytes = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16))
  const tree = (lo: number, hi: number): Uint8Array => {
    if (hi - lo === 1) return sha256(Uint8Array.from([0, ...hexBytes(hashesHex[lo])]))
    let k = 1
    while (2 * k < hi - lo) k *= 2
    return sha256(Uint8Array.from([1, ...tree(lo, lo + k), ...tree(lo + k, hi)]))
  }
  if (hashesHex.length === 0) return toHex(sha256(new Uint8Array(0)))
  return toHex(tree(0, hashesHex.length))
}

export interface MergedShards {
  /** The scan's counts and statistic, as one process would have them (its tuple sets stay empty: see addDisjoint). */
  accumulator: Accumulator
  texts: number
  filter: boolean
  shardCount: number
  /** SHA-256 of each part's bytes, by shard index. */
  shardHashes: string[]
  /** merkleRoot(shardHashes). */
  merkleRoot: string
}

/**
 * Adds up the parts of one sharded scan: all S shards exactly once, same key, same corpus-wide counts.
 * `partBytes` are the parts' `.tmacc` bytes, in any order (their hashes are recorded by shard index).
 */
export function mergeShardParts(key: WatermarkKey, partBytes: readonly Uint8Array[]): MergedShards {
  const pk = prepareKey(key)
  const mismatch = (why: string) => new TokenmarkError('E_ACCUMULATOR_MISMATCH', why)
  if (partBytes.length === 0) throw mismatch('no shard parts to merge')
  // Order by the headers first, then read one part at a time: only one shard's tuples are ever in memory.
  const spec = (b: Uint8Array) => {
    if (b.length < PART_HEADER) throw new TokenmarkError('E_ACCUMULATOR_FORMAT', 'shard part is invalid: too short')
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
    if (dv.getUint32(0, true) !== PART_MAGIC) throw new TokenmarkError('E_ACCUMULATOR_FORMAT', 'shard part is invalid: not a .tmacc shard part')
    const s = { index: dv.getUint32(8, true), count: dv.getUint32(12, true) }
    if (!(s.count >= 1 && s.count <= MAX_SHARDS && s.index < s.count)) throw new TokenmarkError('E_ACCUMULATOR_FORMAT', 'shard part is invalid: bad shard index or count')
    return s
  }
  const count = spec(partBytes[0]).count
  const byIndex: (Uint8Array | undefined)[] = new Array(count)
  for (const b of partBytes) {
    const s = spec(b)
    if (s.count !== count) throw mismatch(`parts of ${count} and of ${s.count} shards cannot be merged`)
    if (byIndex[s.index] !== undefined) throw mismatch(`shard ${s.index}/${count} is given twice`)
    byIndex[s.index] = b
  }
  const missing = []
  for (let i = 0; i < count; i++) if (byIndex[i] === undefined) missing.push(`${i}/${count}`)
  if (missing.length > 0) throw mismatch(`shard part${missing.length > 1 ? 's' : ''} missing: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''}`)
  // Corpus-wide counts once, per-tuple counts and the exact statistic added up; the union of the shards'
  // tuples is never built (at scale it would not fit: that is why the scan was sharded).
  const merged = new Accumulator(pk, { dedup: true })
  const shardHashes: string[] = []
  let first: ShardPart | undefined
  for (const b of byIndex as Uint8Array[]) {
    const part = shardPartFromBytes(b, pk)
    shardHashes.push(shardPartHash(b))
    first ??= part
    const a = part.accumulator
    if (part.texts !== first.texts || part.filter !== first.filter || a.tokensTotal !== first.accumulator.tokensTotal || a.skipped.noContext !== first.accumulator.skipped.noContext)
      throw mismatch(`shard ${part.shard.index}/${count} read a different corpus (texts or tokens seen differ from shard 0's)`)
    merged.addDisjoint(a)
  }
  const f = first as ShardPart
  merged.tokensTotal = f.accumulator.tokensTotal
  merged.skipped.noContext = f.accumulator.skipped.noContext
  return { accumulator: merged, texts: f.texts, filter: f.filter, shardCount: count, shardHashes, merkleRoot: merkleRoot(shardHashes) }
}

/** The corpus test's result of a merged scan, with the shard hashes and Merkle root it was made from. */
export interface ShardedResult extends CorpusResult {
  shards: { count: number; hashes: string[]; merkleRoot: string }
}

export function mergedResult(m: MergedShards, opts: { alpha?: number } = {}): ShardedResult {
  return { ...corpusResult(m.accumulator, { texts: m.texts, filter: m.filter, alpha: opts.alpha }), shards: { count: m.shardCount, hashes: m.shardHashes, merkleRoot: m.merkleRoot } }
}
