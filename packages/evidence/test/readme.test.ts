/** The README's example runs as written, against the built package, and prints what the README says. */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..')
const built = existsSync(join(pkg, 'dist/index.js')) && existsSync(join(pkg, '../core/dist/index.js'))

describe.skipIf(!built)('README', () => {
  it('the example prints a valid, fully checked bundle and both renderings', () => {
    const readme = readFileSync(join(pkg, 'README.md'), 'utf8')
    const code = /```js\n([\s\S]*?)```/.exec(readme)![1]
    // Inside the package directory so '@tokenmark/*' resolve through its node_modules to the built packages.
    const file = join(pkg, `.readme-example-${process.pid}.mjs`)
    writeFileSync(file, code)
    try {
      const out = execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 })
      expect(out.trim().split('\n')).toEqual(['true format:pass signer:pass signature:pass inputs:pass commitment:pass recompute:pass', 'true true'])
    } finally {
      rmSync(file, { force: true })
    }
  })
})
