// Benchmarks of issue 3 §7: generation speed with and without each scheme on the reference model, and
// corpus-scan throughput and memory per unique scored tuple.
import {
  CorpusScanner, getTokenizer, keyFromSecret, plainSampler, seededRng, watermarkSampler,
} from '../packages/core/dist/index.js'
import { corpusPart, generateIds, prompts, trainReferenceModel } from '../packages/lab/dist/index.js'
import { fmt, printTable, row } from './lib.mjs'

const TOP_K = 50

/** Tokens/s of generation with a sampler factory, over `tokens` tokens from a few prompts. */
function genRate(model, promptIds, make, { tokens, topK }) {
  const per = Math.ceil(tokens / promptIds.length)
  const t0 = process.hrtime.bigint()
  let n = 0
  promptIds.forEach((p, i) => {
    n += generateIds(model, p, { maxTokens: per, topK, sampler: make(i) }).ids.length
  })
  return n / (Number(process.hrtime.bigint() - t0) / 1e9)
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

export async function run() {
  const out = []
  const tk = getTokenizer('o200k_base')
  const model = trainReferenceModel(tk)
  const promptIds = prompts().slice(0, 10).map((p) => tk.encode(p))

  // 1. generation: plain and each scheme, top-k 50 over the model's exact candidates, rounds interleaved
  const schemes = ['kgw', 'gumbel', 'synthid', 'unigram']
  const keys = Object.fromEntries(schemes.map((s) => [s, keyFromSecret(new Uint8Array(32).fill(5), { scheme: s })]))
  const rates = { plain: [], ...Object.fromEntries(schemes.map((s) => [s, []])) }
  const plainMake = (i) => plainSampler({ topK: TOP_K }, seededRng(i))
  for (let r = 0; r < 5; r++) {
    rates.plain.push(genRate(model, promptIds, plainMake, { tokens: 10_000, topK: TOP_K }))
    for (const s of schemes) rates[s].push(genRate(model, promptIds, (i) => watermarkSampler(keys[s], { topK: TOP_K }, seededRng(i)), { tokens: 10_000, topK: TOP_K }))
  }
  const plain = median(rates.plain)
  out.push(row(`generation, plain sampling, top-k ${TOP_K} on candidates, tokens/s`, fmt(plain)))
  for (const s of schemes) {
    const v = median(rates[s])
    out.push(row(`generation, ${s}, top-k ${TOP_K} on candidates, tokens/s (ratio to plain)`, `${fmt(v)} (${fmt(v / plain)}×)`))
  }
  // the full-vocabulary path, for comparison (a softmax over 200,019 ids per step)
  const fullPlain = genRate(model, promptIds.slice(0, 3), plainMake, { tokens: 300, topK: 0 })
  const fullKgw = genRate(model, promptIds.slice(0, 3), (i) => watermarkSampler(keys.kgw, { topK: TOP_K }, seededRng(i)), { tokens: 300, topK: 0 })
  out.push(row('generation on full logits (no candidate subset): plain / kgw, tokens/s', `${fmt(fullPlain)} / ${fmt(fullKgw)}`))

  // the per-step cost of each path over the same contexts: full-vocabulary logits vs the exact sample
  {
    const seq = tk.encode(corpusPart('heldout').join('\n')).subarray(0, 2003)
    const out1 = new Float32Array(tk.vocabSize)
    const rng = seededRng(1)
    const perStep = (f) => {
      const xs = []
      for (let r = 0; r < 5; r++) {
        const t0 = process.hrtime.bigint()
        for (let i = 3; i < seq.length; i++) f(seq.subarray(i - 3, i))
        xs.push(Number(process.hrtime.bigint() - t0) / 1e3 / (seq.length - 3))
      }
      return median(xs)
    }
    const full = perStep((c) => model.logits(c, out1))
    const exact = perStep((c) => model.sample(c, rng))
    out.push(row(`n-gram step at V = ${fmt(tk.vocabSize)}: full logits / exact sample, µs (ratio)`, `${fmt(full)} / ${fmt(exact)} (${fmt(full / exact)}×)`))
  }

  // 2. scan: Moby Dick's held-out and student chapters as a corpus of paragraphs, kgw h = 1 and h = 3
  const paragraphs = [...corpusPart('student'), ...corpusPart('heldout')].flatMap((c) => c.split(/\n\s*\n/)).filter((p) => p.trim() !== '')
  const bytes = paragraphs.reduce((a, p) => a + Buffer.byteLength(p), 0)
  for (const context of [1, 3]) {
    const key = keyFromSecret(new Uint8Array(32).fill(6), { scheme: 'kgw', params: { context } })
    const encoded = paragraphs.map((p) => tk.encode(p))
    const times = []
    const timesIds = []
    let scanner
    for (let r = 0; r < 3; r++) {
      let t0 = process.hrtime.bigint()
      scanner = new CorpusScanner(key, { tokenizer: tk })
      for (const p of paragraphs) scanner.add(p)
      times.push(Number(process.hrtime.bigint() - t0) / 1e9)
      t0 = process.hrtime.bigint()
      const s2 = new CorpusScanner(key, { tokenizer: tk })
      for (const ids of encoded) s2.addTokens(ids)
      timesIds.push(Number(process.hrtime.bigint() - t0) / 1e9)
    }
    const res = scanner.result()
    const seen = scanner.accumulator.seen
    const perTuple = seen.byteLength / seen.size
    out.push(row(`scan kgw h=${context}, text (normalise + tokenize + score), tokens/s`, `${fmt(res.tokensTotal / median(times))} (${fmt(bytes / median(times) / 1e6)} MB/s)`))
    out.push(row(`scan kgw h=${context}, pre-tokenized ids, tokens/s`, fmt(res.tokensTotal / median(timesIds))))
    out.push(row(`scan kgw h=${context}, bytes of de-dup set per unique scored tuple (${fmt(seen.size)} tuples)`, fmt(perTuple), '≤ 16', perTuple <= 16))
  }
  printTable('lab: generation and corpus scan (issue 3)', out)
}
