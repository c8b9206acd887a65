/**
 * The sharded scan an analysis agrees with (docs/evidence-format.md#shards, version 3): a bundle made from
 * the parts of a sharded scan (`tokenmark report --parts`) keeps each part's 272-byte head (its summary and
 * scan identity, docs/spec.md#shard-bytes), the heads' SHA-256 and their Merkle root. The heads' summaries
 * must add up to the bundle's statistics, name the bundle's key and settings, and (checked where the texts
 * are: createEvidence, verify's recompute) name the corpus digest of the bundle's texts. So the bundle says
 * exactly which merged parts its numbers are, and anyone can check it without the tuples.
 */
import { mergeShardSummaries, merkleRoot, PART_HEAD, readShardHead, scanSettingsDigest, shardPartHash, toHex, type ShardSummary, type WatermarkKey } from '@tokenmark/core'
import type { EvidenceBody } from './body.js'
import { EvidenceError } from './errors.js'

export interface ShardsRecord {
  /** S, the number of parts. */
  count: number
  /** RFC 6962 Merkle root over the parts' SHA-256 in shard order (core merkleRoot). */
  merkleRoot: string
  /** By shard index: the part's SHA-256 (of its head) and the head itself. */
  parts: { sha256: string; head: Uint8Array }[]
}

/** The record of a sharded scan from its parts' bytes (or heads), merged as `tokenmark merge` merges them. */
export function shardsRecord(key: WatermarkKey, parts: readonly Uint8Array[]): ShardsRecord {
  try {
    const read = parts.map((b) => {
      const head = b.slice(0, PART_HEAD)
      return { head, summary: readShardHead(head), sha256: shardPartHash(head) }
    })
    const merged = mergeShardSummaries(key, read)
    read.sort((a, b) => a.summary.shard.index - b.summary.shard.index)
    return { count: merged.shardCount, merkleRoot: merged.merkleRoot, parts: read.map((r) => ({ sha256: r.sha256, head: r.head })) }
  } catch (e) {
    throw new EvidenceError('E_BAD_INPUT', `shard parts: ${(e as Error).message}`)
  }
}

type BodyParts = Pick<EvidenceBody, 'key' | 'tokenizer' | 'method' | 'filter' | 'statistics'>

/**
 * What differs between a shards record and the body it sits in (empty when it agrees): each head's
 * SHA-256, the Merkle root, one scan of the bundle's key and settings, the parts' counts added up against
 * `statistics` (the statistic itself needs the watermark key's scheme: compared when `key` is given), and
 * the corpus digest against `corpus` when the caller tokenized the bundle's texts (hex CorpusDigest).
 */
export function shardsProblems(body: BodyParts, rec: ShardsRecord, key?: WatermarkKey, corpus?: string): string[] {
  const problems: string[] = []
  rec.parts.forEach((p, i) => {
    const h = shardPartHash(p.head)
    if (h !== p.sha256) problems.push(`part ${i}: its head hashes to ${h.slice(0, 16)}…, not the recorded ${p.sha256.slice(0, 16)}…`)
  })
  if (problems.length > 0) return problems
  let read: { summary: ShardSummary; sha256: string }[]
  try {
    read = rec.parts.map((p) => ({ summary: readShardHead(p.head), sha256: p.sha256 }))
  } catch (e) {
    return [(e as Error).message]
  }
  if (read.length !== rec.count || read.some((r, i) => r.summary.shard.index !== i || r.summary.shard.count !== rec.count)) return [`the parts are not the ${rec.count} shards, once each, in shard order`]
  const root = merkleRoot(read.map((r) => r.sha256))
  if (root !== rec.merkleRoot) problems.push(`the parts' Merkle root is ${root.slice(0, 16)}…, not the recorded ${rec.merkleRoot.slice(0, 16)}…`)
  const f = read[0].summary
  if (read.some(({ summary: x }) => x.identity.commitment !== body.key.commitment)) problems.push(`the parts were made with another key than the bundle's (commitment ${body.key.commitment.slice(0, 16)}…)`)
  if (read.some(({ summary: x }) => x.identity.settings !== f.identity.settings || x.identity.corpus !== f.identity.corpus || x.texts !== f.texts || x.tokensTotal !== f.tokensTotal))
    problems.push('the parts are of different scans')
  const settings = toHex(scanSettingsDigest({ tokenizer: body.tokenizer.name, normalize: body.method.normalize, filterSha256: body.filter?.sha256 }))
  if (f.identity.settings !== settings) problems.push("the parts were read with another tokenizer, normalisation or emission filter than the bundle's")
  if (corpus !== undefined && f.identity.corpus !== corpus) problems.push("the parts read another corpus than the bundle's texts (corpus digests differ)")
  if (problems.length > 0) return problems
  const add = (pick: (x: ShardSummary) => number) => read.reduce((n, r) => n + pick(r.summary), 0)
  const s = body.statistics
  const sums: [string, number, number][] = [
    ['tokensSeen', s.tokensSeen, f.tokensTotal],
    ['noContext', s.noContext, f.skipped.noContext],
    ['tokensScored', s.tokensScored, add((x) => x.tokensScored)],
    ['duplicate', s.duplicate, add((x) => x.skipped.duplicate)],
    ['excluded', s.excluded, add((x) => x.skipped.excluded)],
    ['filtered', s.filtered, add((x) => x.skipped.filtered)],
  ]
  if (key !== undefined && key.commitment === body.key.commitment) {
    try {
      sums.push(['value', s.value, mergeShardSummaries(key, read).accumulator.sum])
    } catch (e) {
      return [(e as Error).message]
    }
  }
  for (const [name, recorded, merged] of sums) if (!Object.is(recorded, merged)) problems.push(`statistics.${name} is ${recorded}, the parts add up to ${merged}`)
  return problems
}
