/**
 * diagnose (docs/spec.md#diagnosis): a text generated under a mismatched configuration is found through
 * the row that undoes the mismatch, the verdict is corrected by the number of rows, and human text
 * stays at the nominal false-positive rate after the correction.
 */
import { describe, expect, test } from 'vitest'
import { diagnose, getTokenizer, huggingFaceTokenizer, keyFromSecret, seededRng, watermarkSampler, type Tokenizer, type WatermarkKey } from '@tokenmark/core'
import { byteLevelBpeJson } from './helpers/hf-files.js'
import { mobyDickText } from './helpers/moby.js'

const MOBY = mobyDickText()

function secret(seed: number): Uint8Array {
  const rng = seededRng(seed)
  return Uint8Array.from({ length: 32 }, () => rng.nextU32() & 255)
}

/** Ordinary English word tokens (" whale"), so a decoded passage re-encodes to the same ids. */
function wordTokens(tk: Tokenizer, n = 400): Uint32Array {
  const ids = tk.encode(MOBY.slice(0, 120_000))
  return Uint32Array.from([...new Set(ids)].filter((t) => /^ [a-z]{2,}$/.test(tk.decode([t]))).slice(0, n))
}

/**
 * `n` watermarked tokens from a random model over `words` (the sampler's candidate-subset form);
 * `between`, when given, is emitted after every word (not sampled), e.g. an invisible character.
 */
function generate(key: WatermarkKey, words: Uint32Array, n: number, seed: number, context: number[] = [], between?: number): Uint32Array {
  const sampler = watermarkSampler(key, {}, seededRng(seed))
  const rng = seededRng(seed + 1)
  const logits = new Float32Array(words.length)
  const out = [...context]
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < logits.length; j++) logits[j] = 2 * rng.nextFloat()
    out.push(sampler(logits, Uint32Array.from(out), words))
    if (between !== undefined) out.push(between)
  }
  return Uint32Array.from(out.slice(context.length))
}

describe('diagnose finds the mismatch', () => {
  const o200k = getTokenizer('o200k_base')

  test('context width: generated with h=1, the key file says h=2', () => {
    const s = secret(1)
    const generator = keyFromSecret(s, { scheme: 'kgw', params: { context: 1 } })
    const key = keyFromSecret(s, { scheme: 'kgw', params: { context: 2 } })
    const text = o200k.decode(generate(generator, wordTokens(o200k), 200, 3))
    const d = diagnose({ text, key })
    expect(d.rows[0].mismatch).toBe('none')
    expect(d.rows[0].context).toBe(2)
    expect(d.rows[0].log10P).toBeGreaterThan(-2)
    expect(d.rows[d.best].label).toBe('lefthash h=1')
    expect(d.detected).toBe(true)
    expect(d.explanation).toBe("most likely mismatch: the generator seeded with lefthash h=1, not the key's lefthash h=2 (it was built from another configuration than the key file)")
    // the correction factor is the number of rows, every one of them
    expect(d.configurationsTried).toBe(d.rows.length)
    expect(d.log10P).toBeCloseTo(d.rows[d.best].log10P + Math.log10(d.rows.length), 10)
    // rows: own, cl100k_base, normalisation off, h=1, h=3, h=4, selfhash h=2 (the other rule at the key's width)
    expect(d.rows.map((r) => r.label)).toEqual(["the key's configuration", 'tokenizer cl100k_base', 'normalisation off', 'lefthash h=1', 'lefthash h=3', 'lefthash h=4', 'selfhash h=2'])
    // the secret never appears in the result
    expect(JSON.stringify(d)).not.toContain(Buffer.from(s).toString('base64url').slice(0, 12))
  })

  test("tokenizer: generated with cl100k_base ids, the key names o200k_base", () => {
    const cl = getTokenizer('cl100k_base')
    const key = keyFromSecret(secret(2), { scheme: 'kgw', params: {} })
    const text = cl.decode(generate(key, wordTokens(cl), 200, 5))
    const d = diagnose({ text, key })
    expect(d.rows[0].log10P).toBeGreaterThan(-3)
    expect(d.rows[d.best].label).toBe('tokenizer cl100k_base')
    expect(d.detected).toBe(true)
  })

  test('normalisation: every word followed by a zero-width space, which normalisation removes', () => {
    // h = 2, so the context (word, zero-width space) varies and the scored tuples are many
    const key = keyFromSecret(secret(3), { scheme: 'kgw', params: { context: 2 } })
    const zw = o200k.encode('\u200b')
    expect(zw.length).toBe(1)
    const ids = generate(key, wordTokens(o200k), 200, 7, [], zw[0])
    const text = o200k.decode(ids)
    expect([...o200k.encode(text)]).toEqual([...ids]) // the passage re-encodes to the generated ids
    const d = diagnose({ text, key })
    expect(d.rows[0].log10P).toBeGreaterThan(-3)
    expect(d.rows[d.best].mismatch).toBe('normalization')
    expect(d.detected).toBe(true)
    expect(d.explanation).toContain('normalisation')
  })

  test('prompt: the prompt is context for the first tokens, and ignoring it is tried too', () => {
    const key = keyFromSecret(secret(4), { scheme: 'gumbel', params: {} }) // h = 4
    const prompt = 'Call me Ishmael. Some years ago'
    const ids = generate(key, wordTokens(o200k), 40, 9, [...o200k.encode(prompt)])
    const d = diagnose({ text: o200k.decode(ids), prompt, key })
    expect(d.rows.at(-1)!.label).toBe('prompt ignored')
    expect(d.rows[0].prompt).toBe(true)
    // with the prompt as context the first 4 tokens are scored too, and they were watermarked
    expect(d.rows[0].tokensScored - d.rows.at(-1)!.tokensScored).toBe(4)
    expect(d.rows[0].log10P).toBeLessThan(d.rows.at(-1)!.log10P)
    expect(d.best).toBe(0)
    expect(d.explanation).toContain('no mismatch')
  })

  test('a Hugging Face-style extra tokenizer is one more row, and unigram has no seeding rows', () => {
    const key = keyFromSecret(secret(5), { scheme: 'unigram', params: {} })
    const hf = huggingFaceTokenizer(byteLevelBpeJson().json)
    // the key's own tokenizer given again is not a second row
    const d = diagnose({ text: MOBY.slice(5000, 6000), key, prompt: 'Loomings.', tokenizers: [hf, o200k] })
    expect(d.rows.map((r) => r.mismatch)).toEqual(['none', 'tokenizer', 'tokenizer', 'normalization', 'prompt'])
    expect(d.rows[2].tokenizer).toBe(hf.name)
    expect(d.rows[2].tokensScored).toBeGreaterThan(100)
    expect(d.rows[0].seeding).toBe(null)
  })
})

/** Smallest c with P[Bin(n, p) ≥ c] ≤ 1 − q, summed directly. */
function binomialQuantile(n: number, p: number, q: number): number {
  let lnC = 0
  let cdf = 0
  for (let k = 0; k <= n; k++) {
    if (k > 0) lnC += Math.log((n - k + 1) / k)
    cdf += Math.exp(lnC + k * Math.log(p) + (n - k) * Math.log1p(-p))
    if (cdf >= q) return k + 1
  }
  return n + 1
}

describe('validity', () => {
  test('50 human windows of Moby-Dick under --diagnose: corrected false positives within the nominal rate at alpha = 0.01', () => {
    const N = 50
    let corrected = 0
    let uncorrected = 0
    for (let i = 0; i < N; i++) {
      const key = keyFromSecret(secret(100 + i), { scheme: ['kgw', 'synthid', 'gumbel'][i % 3], params: {} })
      const start = 20_000 + i * 20_000
      const d = diagnose({ text: MOBY.slice(start, start + 1200), key, alpha: 0.01 })
      expect(Number.isFinite(d.log10P)).toBe(true)
      if (d.detected) corrected++
      if (d.rows[d.best].log10P <= -2) uncorrected++
    }
    expect(corrected).toBeLessThan(binomialQuantile(N, 0.01, 0.999))
    expect(corrected).toBeLessThanOrEqual(uncorrected)
  })
})
