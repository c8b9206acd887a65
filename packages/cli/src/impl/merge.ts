/** What `tokenmark merge` does, and how a merged (sharded) scan result is printed — also by `scan --shards`. */
import { mergedResult, mergeShardParts, mergeShardSummaries, readShardHead, shardPartHash, TokenmarkError, type MergedShards, type WatermarkKey } from '@tokenmark/core'
import { CliError } from '../errors.js'
import { partHashing } from '../hash.js'
import { readFileBytes } from '../io.js'
import { loadKey } from '../load.js'
import type { MergeOptions } from '../commands/merge.js'
import { printMerged } from './scan-print.js'

export { printMerged }

function oneLine<T>(f: () => T): T {
  try {
    return f()
  } catch (e) {
    if (e instanceof TokenmarkError) throw new CliError(e.message)
    throw e
  }
}

/** mergeShardParts with core's errors as one-line CLI errors. */
export function mergeParts(key: WatermarkKey, bytes: Uint8Array[]): MergedShards {
  return oneLine(() => mergeShardParts(key, bytes, partHashing))
}

/**
 * The merge from the parts' heads alone (the queue: each head checked against the SHA-256 its worker stored
 * with the part, which the worker computed over the whole part), so the tuples never leave the database.
 */
export function mergeHeads(key: WatermarkKey, heads: { head: Uint8Array; sha256: string }[]): MergedShards {
  return oneLine(() =>
    mergeShardSummaries(
      key,
      heads.map(({ head, sha256 }) => {
        if (shardPartHash(head, partHashing) !== sha256) throw new CliError(`a stored part's head does not match its SHA-256 ${sha256.slice(0, 16)}…`)
        return { summary: readShardHead(head), sha256 }
      }),
    ),
  )
}

export function run(paths: string[], o: MergeOptions): void {
  const key = loadKey(o.key)
  const merged = mergeParts(
    key,
    paths.map((p) => readFileBytes(p, 'shard part')),
  )
  printMerged(mergedResult(merged, { alpha: o.alpha }), o.json === true)
}
