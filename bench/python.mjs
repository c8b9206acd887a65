// The Python reference's embed step (integrations/python) against core's, per scheme, on the same logits
// (V = 200,019, o200k_base size) and the same 16-token context, in one run: core's watermarkSampler step
// timed here, the reference's Embedder.sample timed by integrations/python/bench_embed.py in a child
// /usr/bin/python3 (numpy). Prints per-token times and the ratio Python / TypeScript.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { keyFromSecret, seededRng, watermarkSampler } from '../packages/core/dist/index.js'
import { fmt, printTable, row, timeIt } from './lib.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PYTHON = process.env.TOKENMARK_PYTHON ?? '/usr/bin/python3'
const V = 200_019

export async function run() {
  // The logits of bench/core.mjs's embed-step comparison: a smooth background with a few peaks.
  const logits = new Float32Array(V)
  for (let i = 0; i < V; i++) logits[i] = -12 + 3 * Math.sin(i * 12.9898) * Math.cos(i * 0.37) + (i % 97 === 0 ? 8 : 0)
  const ctx = Uint32Array.from({ length: 16 }, (_, i) => (i * 7919 + 13) % V)
  const secret = new Uint8Array(32).fill(3)
  const dir = mkdtempSync(join(tmpdir(), 'tokenmark-bench-py-'))
  const out = []
  try {
    const file = join(dir, 'logits.f32')
    writeFileSync(file, Buffer.from(logits.buffer))
    const hex = Buffer.from(secret).toString('hex')
    const p = spawnSync(PYTHON, [join(ROOT, 'integrations/python/bench_embed.py'), file, [...ctx].join(','), hex, '2', '5'], { encoding: 'utf8' })
    if (p.status !== 0) throw new Error(`bench_embed.py failed: ${(p.stderr || p.error?.message || '').slice(-500)}`)
    const py = JSON.parse(p.stdout)
    for (const scheme of ['kgw', 'gumbel', 'synthid', 'unigram']) {
      const s = watermarkSampler(keyFromSecret(secret, { scheme }), { temperature: 1 }, seededRng(1))
      const ts = timeIt(() => s(logits, ctx), { rounds: 5, minMs: 300 })
      out.push(row(`${scheme}: Python reference / core embed step`, `${fmt(py[scheme] / ts)}× (${fmt(py[scheme] * 1e3)} ms vs ${fmt(ts * 1e3)} ms per token)`))
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  printTable(`python reference (V = ${V.toLocaleString('en-US')}, numpy, one token per call)`, out)
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
