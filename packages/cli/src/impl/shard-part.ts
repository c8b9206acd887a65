/** `scan --shard i/S --out FILE`: one shard's part (.tmacc, docs/spec.md#shard-bytes) written instead of a result. */
import { shardPartHash, shardPartToBytes, type ShardScanner } from '@tokenmark/core'
import { partHashing } from '../hash.js'
import { writePartFile } from './part-file.js'

export { writePartFile }

/** Writes the part; `out` may be a folder, then the file is named by its SHA-256 (`<hash>.tmacc`). */
export function writePart(scanner: ShardScanner, out: string, json: boolean): void {
  const part = scanner.part()
  const bytes = shardPartToBytes(part, partHashing)
  const hash = shardPartHash(bytes, partHashing)
  const path = writePartFile(out, hash, bytes)
  const a = part.accumulator
  const { index, count } = part.shard
  const line = { shard: `${index}/${count}`, path, sha256: hash, texts: part.texts, tokensSeen: a.tokensTotal, tokensScored: a.tokensScored, tuplesHeld: a.seen?.size ?? 0 }
  process.stdout.write(
    json
      ? JSON.stringify(line) + '\n'
      : `shard ${index}/${count}: ${part.texts} texts, ${a.tokensTotal} tokens seen, ${a.tokensScored} scored in this shard\n  part ${path}\n  sha256 ${hash}\n  add the ${count} parts up with: tokenmark merge --key <file> <parts…>\n`,
  )
}
