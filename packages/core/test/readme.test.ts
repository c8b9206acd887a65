/** The README's example runs as written (imports pointed at the built package). */
import { expect, test } from 'vitest'
import { coreReadme, runReadmeExample } from './helpers/readme-example.js'

test('the README example runs', async () => {
  const code = /```ts\n([\s\S]*?)```/.exec(coreReadme())?.[1]
  expect(code).toBeDefined()
  const logs = await runReadmeExample(code!)
  expect(logs).toHaveLength(1)
  expect(logs[0][0]).toBe(false) // the example text is not watermarked
})
