/** node:crypto's SHA-256 for shard parts: core's default (@noble/hashes, browser-safe) is ~20× slower on megabytes. */
import { createHash } from 'node:crypto'
import type { PartHashing } from '@tokenmark/core'

export const partHashing: PartHashing = { sha256: (bytes) => createHash('sha256').update(bytes).digest() }
