/** The README's key-schedule example runs as written (imports pointed at the built package). */
import { expect, test } from 'vitest'
import { coreReadme, runReadmeExample } from './helpers/readme-example.js'

test('the README key-schedule example runs and catches the replayed answer in its cohort', async () => {
  const code = [...coreReadme().matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).find((c) => c.includes('KeySchedule'))
  expect(code).toBeDefined()
  expect(await runReadmeExample(code!)).toEqual([[true], [true, true]])
})
