/** `generate --neural` and `eval --neural` driven as a user would: the built binary, the shipped model, real files. */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { keyFromSecret } from '@tokenmark/core'

const BIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const TOKENIZER = fileURLToPath(new URL('../../../models/tinylm/tokenizer.json', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tokenmark-neural-cli-'))

function tm(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: dir })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

describe('the --neural option', () => {
  test('generate --neural writes a watermarked answer that detect finds with the model tokenizer', () => {
    writeFileSync(join(dir, 'k.tmkey'), keyFromSecret(new Uint8Array(32).fill(3), { scheme: 'synthid', tokenizer: 'tinylm' }).toKeyFile())
    const g = tm(['generate', '--neural', '--key', 'k.tmkey', '--prompt', 'Call me Ishmael.', '--max-tokens', '150', '--top-k', '50', '--seed', '2'])
    expect(g.code).toBe(0)
    writeFileSync(join(dir, 'answer.txt'), g.out)
    const d = JSON.parse(tm(['detect', '--key', 'k.tmkey', '--tokenizer-file', TOKENIZER, '--json', 'answer.txt']).out) as { pValue: number }
    expect(d.pValue).toBeLessThan(1e-6)
  })

  test('eval --neural judges quality under the neural model itself', () => {
    const r = tm(['eval', '--neural', '--schemes', 'kgw', '--attacks', 'none:0', '--lengths', '30', '--texts', '2'])
    expect(r.code).toBe(0)
    expect(r.out).toContain('perplexity under the neural model itself')
    expect(r.out).toMatch(/\| kgw \| none \| 30 \|/)
  })

  test('refuses --neural with --model: one line on stderr, exit 2', () => {
    const r = tm(['generate', '--neural', '--model', 'x.tmlm', '--prompt', 'a'])
    expect(r.code).toBe(2)
    expect(r.err.trim()).toBe('tokenmark: use either --model or --neural')
  })
})
