/** Where a shard part (.tmacc) is written: core-free, so `scan --workers`' main thread can write parts without loading core. */
import { mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CliError } from '../errors.js'

/** Writes a part to `out`; when `out` is a folder, the file is named by the part's SHA-256 (`<hash>.tmacc`). Returns the path. */
export function writePartFile(out: string, hash: string, bytes: Uint8Array): string {
  let isDir = false
  try {
    isDir = statSync(out).isDirectory()
  } catch {
    // a new file
  }
  const path = isDir ? join(out, `${hash}.tmacc`) : out
  try {
    writeFileSync(path, bytes)
  } catch (e) {
    throw new CliError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  return path
}

/** Writes every part into the folder `dir` (made if missing), each named by its SHA-256 (`--parts-out`). */
export function writePartFiles(dir: string, parts: readonly { sha256: string; bytes: Uint8Array }[]): void {
  try {
    mkdirSync(dir, { recursive: true })
  } catch (e) {
    throw new CliError(`cannot make the folder ${dir}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  for (const p of parts) writePartFile(dir, p.sha256, p.bytes)
}
