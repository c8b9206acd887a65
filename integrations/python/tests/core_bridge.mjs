// Node side of the Python reference's cross-checks: runs @tokenmark/core (built dist) and prints JSON.
//   node core_bridge.mjs crosscheck          PRF lane-0 words, Gumbel draws and a gumbel generation from core
//   node core_bridge.mjs prompts             the lab's first 12 prompts as ids of the shipped model's tokenizer.json
//   node core_bridge.mjs detect < job.json   {keyFile, responses: [ids]} → decode, detect the text, print results
//                                            (a key for tokenizer "tinylm" is read with the shipped tokenizer.json)
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const core = await import(join(root, 'packages/core/dist/index.js'))
const { keyFromSecret, parseKeyFile, prepareKey, watermarkSampler, seededRng, fmix32, getTokenizer, detect } = core

const SECRET = Uint8Array.from({ length: 32 }, (_, i) => (i * 11 + 5) & 255)
export const CONFIGS = [
  { scheme: 'kgw', params: {} },
  { scheme: 'kgw', params: { seeding: 'selfhash', context: 4, gamma: 0.5 } },
  { scheme: 'unigram', params: {} },
  { scheme: 'gumbel', params: {} },
  { scheme: 'gumbel', params: { seeding: 'selfhash', context: 3 } },
  { scheme: 'synthid', params: {} },
]
const V = 200_019

/** Logits both languages compute bit for bit: fmix32 of (case, token), scaled, rounded to float32. */
function formulaLogits(c, n) {
  const out = new Float32Array(n)
  const scale = 1 + (c % 12)
  for (let i = 0; i < n; i++) out[i] = Math.fround((fmix32((c * 65536 + i) >>> 0) / 4294967296) * scale)
  return out
}
const SAMPLINGS = [{}, { temperature: 0.7 }, { temperature: 1.3, topK: 50 }, { topP: 0.9 }, { temperature: 0.8, topK: 20, topP: 0.95 }]

function crosscheck() {
  const rng = seededRng(2026)
  const configs = CONFIGS.map((cfg, ci) => {
    // A tokenizer core does not ship: the Gumbel draws below use short formula logits, which core's sampler
    // refuses for a built-in tokenizer's key (embed.ts checks logits against its vocabulary).
    const key = keyFromSecret(SECRET, { ...cfg, tokenizer: 'formula' })
    const pk = prepareKey(key)
    const need = pk.prf.need
    // 2000 random contexts × 16 candidates: lane 0 (green bits, g-values) for every pair.
    const lanes = []
    for (let c = 0; c < 2000; c++) {
      const ctx = Array.from({ length: need }, () => (c % 50 === 0 ? rng.nextU32() : rng.nextU32() % V))
      const toks = Array.from({ length: 16 }, () => rng.nextU32() % V)
      const padded = Uint32Array.from([...ctx, 0])
      pk.prf.setContext(padded, need)
      lanes.push({ context: ctx, tokens: toks, lane0: toks.map((t) => pk.prf.lane0(t)) })
    }
    // Gumbel draws on formula logits (1000 cases, several samplings); a fresh sampler per case.
    const draws = []
    if (cfg.scheme === 'gumbel') {
      for (let c = 0; c < 1000; c++) {
        const n = c % 3 === 0 ? 4096 : 512
        const sampling = SAMPLINGS[c % SAMPLINGS.length]
        const ctx = Uint32Array.from({ length: need + 1 }, () => rng.nextU32() % V)
        draws.push({ case: c, n, sampling, context: [...ctx], token: watermarkSampler(key, sampling, seededRng(c))(formulaLogits(c, n), ctx) })
      }
    }
    // One 300-token gumbel generation over 4 tokens whose logits depend on the previous token: contexts repeat.
    let generation
    if (cfg.scheme === 'gumbel') {
      const sample = watermarkSampler(key, {}, seededRng(ci))
      const seq = [3, 1, 4]
      for (let i = 0; i < 300; i++) seq.push(sample(formulaLogits(seq[seq.length - 1], 4), Uint32Array.from(seq)))
      generation = { prompt: 3, tokens: seq }
    }
    return { config: cfg, keyFile: key.toKeyFile(new Date(0)), lanes, draws, generation }
  })
  return { configs }
}

/** The lab (built dist), imported lazily: only the torch end-to-end test needs its prompts and tokenizer. */
const lab = () => import(join(root, 'packages/lab/dist/index.js'))

async function prompts() {
  const { prompts, neuralTokenizer } = await lab()
  const tk = neuralTokenizer()
  return { vocabSize: tk.vocabSize, prompts: prompts().slice(0, 12).map((p) => [...tk.encode(p)]) }
}

async function detectJob(job) {
  const key = parseKeyFile(job.keyFile)
  // The shipped model's tokenizer is a file, not a built-in: the lab reads it through core's Hugging Face adapter.
  const tk = key.config.tokenizer === 'tinylm' ? (await lab()).neuralTokenizer() : getTokenizer(key.config.tokenizer)
  return job.responses.map((ids) => {
    const text = tk.decode(Uint32Array.from(ids))
    const r = detect({ text, keys: key, tokenizer: tk })
    return { pValue: r.pValue, log10P: r.log10P, tokensScored: r.tokensScored, tokensTotal: r.tokensTotal }
  })
}

const cmd = process.argv[2]
let out
if (cmd === 'crosscheck') out = crosscheck()
else if (cmd === 'prompts') out = await prompts()
else if (cmd === 'detect') out = await detectJob(JSON.parse(readFileSync(0, 'utf8')))
else {
  process.stderr.write('usage: core_bridge.mjs crosscheck | prompts | detect\n')
  process.exit(2)
}
process.stdout.write(JSON.stringify(out))
