/** node:crypto's SHA-256 for shard parts: core's default (@noble/hashes, browser-safe) is ~20× slower on megabytes. */
import * as crypto from 'node:crypto'
import type { PartHashing } from '@tokenmark/core'

/** crypto.hash (Node ≥ 20.12) is one call per digest, ~1.5× faster than createHash on the ~0.5 KB a corpus digest hashes per text. */
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Uint8Array }).hash

export const partHashing: PartHashing = {
  sha256: oneShot !== undefined ? (bytes) => oneShot('sha256', bytes, 'buffer') : (bytes) => crypto.createHash('sha256').update(bytes).digest(),
}
