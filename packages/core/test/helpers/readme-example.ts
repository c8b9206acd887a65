/** Runs a code block of packages/core/README.md as written, its imports pointed at the built package. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** The core README's text. */
export function coreReadme(): string {
  return readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8')
}

/** Imports `code` as an ES module (from a temporary file) and returns the arguments of each console.log it made. */
export async function runReadmeExample(code: string): Promise<unknown[][]> {
  const dist = pathToFileURL(fileURLToPath(new URL('../../dist/index.js', import.meta.url))).href
  const file = join(mkdtempSync(join(tmpdir(), 'tm-readme-')), 'example.mjs')
  writeFileSync(file, code.replace("from '@tokenmark/core'", `from '${dist}'`))
  const logs: unknown[][] = []
  const orig = console.log
  console.log = (...a: unknown[]) => void logs.push(a)
  try {
    await import(pathToFileURL(file).href)
  } finally {
    console.log = orig
  }
  return logs
}
