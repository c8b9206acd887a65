/** The README's example runs as written (imports pointed at the built package). */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { expect, test } from 'vitest'

test('the README example runs', async () => {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
  expect(code).toBeDefined()
  const dist = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href
  const file = join(mkdtempSync(join(tmpdir(), 'tm-readme-')), 'example.mjs')
  const logs: unknown[][] = []
  const orig = console.log
  writeFileSync(file, code!.replace("from '@tokenmark/core'", `from '${dist}'`))
  console.log = (...a: unknown[]) => void logs.push(a)
  try {
    await import(pathToFileURL(file).href)
  } finally {
    console.log = orig
  }
  expect(logs).toHaveLength(1)
  expect(logs[0][0]).toBe(false) // the example text is not watermarked
})
