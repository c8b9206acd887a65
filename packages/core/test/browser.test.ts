/** @tokenmark/core must run in a browser or an edge runtime: no node: imports, and it bundles for one. */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runInNewContext } from 'node:vm'
import { build } from 'esbuild'
import { expect, test } from 'vitest'

const srcDir = fileURLToPath(new URL('../src', import.meta.url))

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? files(p) : [p]
  })
}

test('core source imports nothing from node: and never uses Math.random', () => {
  for (const f of files(srcDir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(f, 'utf8')
    expect(text, f).not.toMatch(/from\s+['"]node:|require\(['"]node:/)
    expect(text, f).not.toMatch(/Math\.random/)
  }
})

test('core bundles for a browser target and runs in a bare JS context', async () => {
  const result = await build({
    entryPoints: [join(srcDir, 'index.ts')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'tokenmark',
    write: false,
    target: 'es2022',
    logLevel: 'silent',
  })
  expect(result.errors).toEqual([])
  const code = result.outputFiles[0].text
  expect(code).not.toMatch(/require\(["']node:/)
  // A context with only what browsers provide: no process, no Buffer, no require.
  const ctx: Record<string, unknown> = {
    TextEncoder,
    TextDecoder,
    crypto: globalThis.crypto,
    console,
  }
  runInNewContext(code + '\n;globalThis.__tm = tokenmark;', ctx)
  const tm = ctx.__tm as typeof import('@tokenmark/core')
  expect(ctx.process).toBeUndefined()
  const key = tm.generateKey({ scheme: 'kgw' })
  const ids = tm.getTokenizer('o200k_base').encode('It is not down in any map; true places never are.')
  const r = tm.detect({ tokens: ids, keys: key })
  expect(r.tokensTotal).toBe(ids.length)
  expect(r.pValue).toBeGreaterThan(0)
}, 120_000)
