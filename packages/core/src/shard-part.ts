/**
 * Shard parts as bytes, and their merge (docs/spec.md#shard-bytes).
 *
 * A `.tmacc` part is a 272-byte head — the shard, which scan it belongs to (scan-identity.ts) and the
 * summary of its accumulator: counts, the statistic as exact words, the sizes of its de-duplication and
 * exclusion sets and the SHA-256 of the accumulator's bytes — followed by those bytes (the tuples). A part
 * is named by the SHA-256 of its head, which commits to the tuples through their hash.
 *
 * So a merge reads no tuple: per-tuple counts and the exact statistic add up over shards (shard.ts), and
 * corpus-wide counts must agree; it hashes each part's accumulator bytes to check them against the head,
 * and records the heads' hashes and their Merkle root (RFC 6962 §2.1), which evidence names.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { Accumulator, type SkipCounts } from './accumulate.js'
import { toHex } from './bytes.js'
import { corpusResult, type CorpusResult } from './corpus.js'
import { TokenmarkError } from './errors.js'
import type { WatermarkKey } from './keys.js'
import { prepareKey, type PreparedKey } from './scoring.js'
import { checkSpec, type ScanIdentity, type ShardPart, type ShardSpec } from './shard.js'
import { shardOf } from './shard-route.js'

/** A SHA-256 function. Core's default is @noble/hashes (browser-safe); Node callers may pass node:crypto's, which is ~20× faster on large parts. */
export type Sha256 = (bytes: Uint8Array) => Uint8Array

export interface PartHashing {
  sha256?: Sha256
}

const PART_MAGIC = 0x48534d54 // "TMSH" little-endian
const PART_VERSION = 2
/** Bytes before the accumulator: header and summary. */
export const PART_HEAD = 272

/** What a part's head says (module comment): enough to merge without its tuples. */
export interface ShardSummary {
  shard: ShardSpec
  texts: number
  filter: boolean
  identity: ScanIdentity
  tokensTotal: number
  tokensScored: number
  skipped: SkipCounts
  /** The statistic as exact words (Accumulator.statisticWords). */
  statistic: Float64Array
  /** Distinct tuples in the de-duplication set (= tokensScored) and in the exclusion set. */
  tuples: number
  exclusions: number
  /** SHA-256 of the accumulator bytes that follow the head, hex. */
  accumulatorSha256: string
}

const bad = (why: string) => new TokenmarkError('E_ACCUMULATOR_FORMAT', `shard part is invalid: ${why}`)

function hexTo(out: Uint8Array, at: number, hex: string): void {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new TokenmarkError('E_BAD_PARAM', 'a scan identity field must be 64 lowercase hex digits')
  for (let i = 0; i < 32; i++) out[at + i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
}

/**
 * `.tmacc` bytes (docs/spec.md#shard-bytes), little-endian: "TMSH", version u8 = 2, flags u8 (bit 0: an
 * emission filter was applied), two zero bytes, shard index u32, shard count u32, texts f64, accumulator
 * length f64; key commitment, settings digest, corpus digest, accumulator SHA-256 (32 bytes each); tokens
 * seen, scored, noContext, duplicate, excluded, filtered, tuples, exclusions (f64 each); the statistic's six
 * words (f64); then the accumulator's bytes (docs/spec.md#accumulator-bytes).
 */
export function shardPartToBytes(part: ShardPart, opts: PartHashing = {}): Uint8Array {
  const a = part.accumulator
  const acc = a.toBytes()
  const out = new Uint8Array(PART_HEAD + acc.length)
  const dv = new DataView(out.buffer)
  dv.setUint32(0, PART_MAGIC, true)
  dv.setUint8(4, PART_VERSION)
  dv.setUint8(5, part.filter ? 1 : 0)
  dv.setUint32(8, part.shard.index, true)
  dv.setUint32(12, part.shard.count, true)
  dv.setFloat64(16, part.texts, true)
  dv.setFloat64(24, acc.length, true)
  hexTo(out, 32, part.identity.commitment)
  hexTo(out, 64, part.identity.settings)
  hexTo(out, 96, part.identity.corpus)
  out.set((opts.sha256 ?? nobleSha256)(acc), 128)
  const s = a.skipped
  const counts = [a.tokensTotal, a.tokensScored, s.noContext, s.duplicate, s.excluded, s.filtered, a.seen?.size ?? 0, a.excluded.size]
  for (let i = 0; i < counts.length; i++) dv.setFloat64(160 + 8 * i, counts[i], true)
  const w = a.statisticWords()
  for (let i = 0; i < 6; i++) dv.setFloat64(224 + 8 * i, w[i], true)
  out.set(acc, PART_HEAD)
  return out
}

const hex32 = (b: Uint8Array, at: number) => toHex(b.subarray(at, at + 32))

/**
 * Reads a part's 272-byte head alone (a bundle keeps only the heads): the shard, the scan identity and the
 * summary. Checks its own consistency, not the accumulator bytes (readShardSummary does).
 */
export function readShardHead(bytes: Uint8Array): ShardSummary & { accumulatorLength: number } {
  if (bytes.length < 8) throw bad('too short')
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (dv.getUint32(0, true) !== PART_MAGIC) throw bad('not a .tmacc shard part')
  const version = dv.getUint8(4)
  if (version === 1) throw bad('it was written by an older tokenmark (part format 1, without a summary); run its shard again')
  if (version !== PART_VERSION) throw bad(`unsupported version ${version}`)
  if (bytes.length < PART_HEAD) throw bad('too short')
  const shard = { index: dv.getUint32(8, true), count: dv.getUint32(12, true) }
  try {
    checkSpec(shard)
  } catch {
    throw bad('bad shard index or count')
  }
  if ((dv.getUint8(5) & ~1) !== 0 || dv.getUint16(6, true) !== 0) throw bad('reserved bits set')
  const f = (at: number) => {
    const v = dv.getFloat64(at, true)
    if (!(Number.isSafeInteger(v) && v >= 0)) throw bad('bad count')
    return v
  }
  const [tokensTotal, tokensScored, noContext, duplicate, excluded, filtered, tuples, exclusions] = Array.from({ length: 8 }, (_, i) => f(160 + 8 * i))
  const statistic = new Float64Array(6)
  for (let i = 0; i < 6; i++) statistic[i] = dv.getFloat64(224 + 8 * i, true)
  if (!Number.isSafeInteger(statistic[0]) || statistic[0] < 0 || statistic.subarray(1).some((w) => !(Number.isInteger(w) && w >= 0 && w < 2 ** 26))) throw bad('bad statistic words')
  if (tuples !== tokensScored) throw bad('its de-duplication set size is not its tokens scored')
  return {
    shard,
    texts: f(16),
    filter: (dv.getUint8(5) & 1) === 1,
    identity: { commitment: hex32(bytes, 32), settings: hex32(bytes, 64), corpus: hex32(bytes, 96) },
    tokensTotal,
    tokensScored,
    skipped: { noContext, duplicate, excluded, filtered },
    statistic,
    tuples,
    exclusions,
    accumulatorSha256: hex32(bytes, 128),
    accumulatorLength: f(24),
  }
}

/**
 * Reads a part's head and checks the accumulator bytes against it: their length and SHA-256, and the
 * counts their own header repeats (docs/spec.md#accumulator-bytes) — no tuple is read.
 */
export function readShardSummary(bytes: Uint8Array, opts: PartHashing = {}): ShardSummary {
  const { accumulatorLength, ...summary } = readShardHead(bytes)
  if (accumulatorLength !== bytes.length - PART_HEAD) throw bad('length does not match')
  const acc = bytes.subarray(PART_HEAD)
  if (toHex((opts.sha256 ?? nobleSha256)(acc)) !== summary.accumulatorSha256) throw bad('its accumulator bytes do not match the SHA-256 in its head')
  checkAgainstAccumulatorHeader(summary, acc)
  return summary
}

/** The accumulator bytes' own header (counts as f64, then the tuple count) must repeat the summary. */
function checkAgainstAccumulatorHeader(s: ShardSummary, acc: Uint8Array): void {
  if (acc.length < 8) throw bad('accumulator bytes too short')
  const dv = new DataView(acc.buffer, acc.byteOffset, acc.byteLength)
  if (dv.getUint8(5) !== 1) throw bad('a shard part needs de-duplication')
  const o = (8 + dv.getUint16(6, true) + 7) & ~7
  if (acc.length < o + 64) throw bad('accumulator bytes too short')
  const at = (i: number) => dv.getFloat64(o + 8 * i, true)
  const k = s.skipped
  const same = at(0) === s.tokensTotal && at(1) === s.tokensScored && at(3) === k.noContext && at(4) === k.duplicate && at(5) === k.excluded && at(6) === k.filtered && dv.getUint32(o + 56, true) === s.tuples
  if (!same) throw bad('its summary does not match its accumulator')
}

/**
 * The whole part: the summary checked, then the tuples read (each must belong to the shard) and the
 * statistic they give checked against the summary's. For tests and deep checks; a merge does not need it.
 */
export function shardPartFromBytes(bytes: Uint8Array, pk: PreparedKey, opts: PartHashing = {}): ShardPart {
  const s = readShardSummary(bytes, opts)
  if (s.identity.commitment !== pk.key.commitment) throw new TokenmarkError('E_ACCUMULATOR_MISMATCH', 'shard part was made with a different key')
  const accumulator = Accumulator.fromBytes(bytes.subarray(PART_HEAD), pk)
  let foreign = false
  accumulator.seen?.forEach((w0, w1) => {
    if (shardOf(w0, w1, s.shard.count) !== s.shard.index) foreign = true
  })
  if (foreign) throw bad(`it holds tuples outside shard ${s.shard.index}/${s.shard.count}`)
  const w = accumulator.statisticWords()
  if (accumulator.excluded.size !== s.exclusions || w.some((v, i) => v !== s.statistic[i])) throw bad('its summary does not match its tuples')
  return { shard: s.shard, texts: s.texts, filter: s.filter, accumulator, identity: s.identity }
}

/** A part's name: the SHA-256 of its head (which holds the SHA-256 of its tuples), hex. */
export function shardPartHash(bytes: Uint8Array, opts: PartHashing = {}): string {
  if (bytes.length < PART_HEAD) throw bad('too short')
  return toHex((opts.sha256 ?? nobleSha256)(bytes.subarray(0, PART_HEAD)))
}

/**
 * Merkle tree hash of RFC 6962 §2.1 over the parts' SHA-256 values (in shard order): leaf = SHA-256(0x00 ‖ h),
 * node = SHA-256(0x01 ‖ left ‖ right), split at the largest power of two below n. Hex.
 */
export function merkleRoot(hashesHex: readonly string[]): string {
  const hexBytes = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16))
  const tree = (lo: number, hi: number): Uint8Array => {
    if (hi - lo === 1) return nobleSha256(Uint8Array.from([0, ...hexBytes(hashesHex[lo])]))
    let k = 1
    while (2 * k < hi - lo) k *= 2
    return nobleSha256(Uint8Array.from([1, ...tree(lo, lo + k), ...tree(lo + k, hi)]))
  }
  if (hashesHex.length === 0) return toHex(nobleSha256(new Uint8Array(0)))
  return toHex(tree(0, hashesHex.length))
}

export interface MergedShards {
  /** The scan's counts and statistic, as one process would have them (its tuple sets stay empty: see addSummary). */
  accumulator: Accumulator
  texts: number
  filter: boolean
  shardCount: number
  /** SHA-256 of each part's head, by shard index. */
  shardHashes: string[]
  /** merkleRoot(shardHashes). */
  merkleRoot: string
  /** Which scan the parts belong to (the same in every part). */
  identity: ScanIdentity
}

/**
 * Adds up the parts of one sharded scan from their summaries: all S shards exactly once, same key, same
 * settings, same corpus. `partBytes` are the parts' `.tmacc` bytes, in any order (hashes are recorded by
 * shard index). No tuple is read: memory is a part's bytes, time one hash pass over them.
 */
export function mergeShardParts(key: WatermarkKey, partBytes: readonly Uint8Array[], opts: PartHashing = {}): MergedShards {
  return mergeShardSummaries(
    key,
    partBytes.map((b) => ({ summary: readShardSummary(b, opts), sha256: shardPartHash(b, opts) })),
  )
}

const mismatch = (why: string) => new TokenmarkError('E_ACCUMULATOR_MISMATCH', why)

/** The parts in shard order, once each is checked to be one of the same S shards and every shard is given once. */
function inShardOrder<T>(parts: readonly T[], specOf: (p: T) => ShardSpec): T[] {
  if (parts.length === 0) throw mismatch('no shard parts to merge')
  const count = specOf(parts[0]).count
  const byIndex: (T | undefined)[] = new Array(count)
  for (const p of parts) {
    const s = specOf(p)
    if (s.count !== count) throw mismatch(`parts of ${count} and of ${s.count} shards cannot be merged (they are parts of different scans)`)
    if (byIndex[s.index] !== undefined) throw mismatch(`shard ${s.index}/${count} is given twice`)
    byIndex[s.index] = p
  }
  const missing = []
  for (let i = 0; i < count; i++) if (byIndex[i] === undefined) missing.push(`${i}/${count}`)
  if (missing.length > 0) throw mismatch(`shard part${missing.length > 1 ? 's' : ''} missing: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''}`)
  return byIndex as T[]
}

/**
 * mergeShardParts' checks and sums over summaries already read (readShardSummary, or readShardHead for
 * heads kept apart from their tuples, as an evidence bundle keeps them), each with its part's hash.
 */
export function mergeShardSummaries(key: WatermarkKey, parts: readonly { summary: ShardSummary; sha256: string }[]): MergedShards {
  const ordered = inShardOrder(parts, (p) => p.summary.shard)
  const count = ordered.length
  const f = ordered[0].summary
  for (const { summary: s } of ordered) {
    const name = `shard ${s.shard.index}/${count}`
    if (s.identity.commitment !== key.commitment) throw mismatch(`${name} was made with a different key (its key commitment, which binds scheme and parameters, is not this key's)`)
    if (s.identity.settings !== f.identity.settings || s.filter !== f.filter) throw mismatch(`${name} is part of another scan: its tokenizer, normalisation or emission filter differ from shard 0/${count}'s`)
    if (s.identity.corpus !== f.identity.corpus) throw mismatch(`${name} is part of another scan: it read a different corpus than shard 0/${count}`)
  }
  const sum = addShardCounts(key, ordered.map((p) => p.summary))
  const shardHashes = ordered.map((p) => p.sha256)
  return { ...sum, shardHashes, merkleRoot: merkleRoot(shardHashes), identity: f.identity }
}

/** What a shard adds to a merge: its counts and exact statistic (a part's summary without the names of its scan and tuples). */
export interface ShardCounts {
  shard: ShardSpec
  texts: number
  filter: boolean
  tokensTotal: number
  tokensScored: number
  skipped: SkipCounts
  /** The statistic as exact words (Accumulator.statisticWords). */
  statistic: Float64Array
}

/** A part's counts, read from its accumulator (no tuple is serialised or hashed). */
export function shardCounts(part: ShardPart): ShardCounts {
  const a = part.accumulator
  return { shard: part.shard, texts: part.texts, filter: part.filter, tokensTotal: a.tokensTotal, tokensScored: a.tokensScored, skipped: { ...a.skipped }, statistic: a.statisticWords() }
}

/**
 * Adds the counts of every shard of one scan, each exactly once (in any order): per-tuple counts and the
 * statistic add up, corpus-wide counts must agree and are taken once (docs/spec.md#shards). mergeShardSummaries
 * does this after checking the parts name one scan; `scan --workers` without `--parts-out` does it alone, as
 * its threads' shards are of one scan by construction and no part is kept to be named.
 */
export function addShardCounts(key: WatermarkKey, parts: readonly ShardCounts[]): Omit<MergedShards, 'shardHashes' | 'merkleRoot' | 'identity'> {
  const ordered = inShardOrder(parts, (p) => p.shard)
  const count = ordered.length
  const f = ordered[0]
  const merged = new Accumulator(prepareKey(key), { dedup: true })
  for (const s of ordered) {
    if (s.filter !== f.filter) throw mismatch(`shard ${s.shard.index}/${count} is part of another scan: its tokenizer, normalisation or emission filter differ from shard 0/${count}'s`)
    if (s.texts !== f.texts || s.tokensTotal !== f.tokensTotal || s.skipped.noContext !== f.skipped.noContext)
      throw mismatch(`shard ${s.shard.index}/${count} is part of another scan: it read a different corpus than shard 0/${count}`)
    merged.addSummary(s)
  }
  merged.tokensTotal = f.tokensTotal
  merged.skipped.noContext = f.skipped.noContext
  return { accumulator: merged, texts: f.texts, filter: f.filter, shardCount: count }
}

/** The corpus test's result of a merged scan, with the shard hashes and Merkle root it was made from. */
export interface ShardedResult extends CorpusResult {
  shards: { count: number; hashes: string[]; merkleRoot: string }
}

export function mergedResult(m: MergedShards, opts: { alpha?: number } = {}): ShardedResult {
  return { ...corpusResult(m.accumulator, { texts: m.texts, filter: m.filter, alpha: opts.alpha }), shards: { count: m.shardCount, hashes: m.shardHashes, merkleRoot: m.merkleRoot } }
}
