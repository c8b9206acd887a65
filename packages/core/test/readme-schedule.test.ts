/** The README's key-schedule example runs as written (imports pointed at the built package). */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { expect, test } from 'vitest'

test('the README key-schedule example runs and catches the replayed answer in its cohort', async () => {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
  const code = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).find((c) => c.includes('KeySchedule'))
  expect(code).toBeDefined()
  const dist = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href
  const file = join(mkdtempSync(join(tmpdir(), 'tm-readme-schedule-')), 'example.mjs')
  writeFileSync(file, code!.replace("from '@tokenmark/core'", `from '${dist}'`))
  const logs: unknown[][] = []
  const orig = console.log
  console.log = (...a: unknown[]) => void logs.push(a)
  try {
    await import(pathToFileURL(file).href)
  } finally {
    console.log = orig
  }
  expect(logs).toEqual([[true], [true, true]])
})
