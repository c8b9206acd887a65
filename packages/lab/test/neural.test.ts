import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { detect, keyFromSecret, seededRng, watermarkSampler } from '@tokenmark/core'
import { NeuralModel, generate, neuralModelDir, neuralTokenizer, prompts } from '@tokenmark/lab'

const model = NeuralModel.load()
const tokenizer = neuralTokenizer()
afterAll(() => model.close())

describe('neural model (models/tinylm through onnxruntime-node)', () => {
  it('matches the torch logits recorded at export, token by token through the KV cache', () => {
    const check = JSON.parse(readFileSync(join(neuralModelDir(), 'export-check.json'), 'utf8')) as { ids: number[]; logits: number[][]; argmax: number[] }
    expect(check.ids[0]).toBe(model.eot)
    const before = model.tokensRun
    const lp = new Float32Array(model.vocabSize)
    for (let j = 0; j < check.ids.length; j++) {
      // Row j of torch's logits predicts the token after ids[0..j]; the model prefixes <|endoftext|> itself.
      model.logits(Uint32Array.from(check.ids.slice(1, j + 1)), lp)
      let best = 0
      for (let i = 1; i < lp.length; i++) if (lp[i] > lp[best]) best = i
      expect(best).toBe(check.argmax[j])
      // log-probabilities differ from logits by a constant per row
      for (let i = 1; i < 32; i++) expect(lp[i] - lp[0]).toBeCloseTo(check.logits[j][i] - check.logits[j][0], 3)
    }
    // The cache ran each position once (the first call runs two: <|endoftext|> and nothing else is new).
    expect(model.tokensRun - before).toBeLessThanOrEqual(check.ids.length + 1)
  })

  it('gives log-probabilities that sum to one and the same answer for the same context', () => {
    const ctx = tokenizer.encode('Call me Ishmael. Some years ago')
    const a = model.logits(ctx)
    let s = 0
    for (const x of a) s += Math.exp(x)
    expect(s).toBeCloseTo(1, 4)
    model.logits(tokenizer.encode('It was the best of times'))
    expect(model.logits(ctx)).toEqual(a)
    const top = model.topCandidates(ctx, 50)
    expect(top.logits[0]).toBe(Math.max(...a))
    // the one-pass top-k equals the head of the fully sorted distribution
    expect(Array.from(top.ids)).toEqual(Array.from(model.nextTokenDistribution(ctx).ids.subarray(0, 50)))
  })

  it('scores a sequence in one call with the perplexity of its token-by-token log-probabilities', () => {
    const seq = tokenizer.encode('Call me Ishmael. Some years ago, never mind how long precisely, having little money')
    let nll = 0
    for (let i = 0; i < seq.length; i++) nll -= model.logits(seq.subarray(0, i))[seq[i]]
    const before = model.tokensRun
    expect(model.perplexity([seq])).toBeCloseTo(Math.exp(nll / seq.length), 3)
    expect(model.tokensRun - before).toBe(seq.length)
  })

  it('generates 200 tokens running each token through the network once', () => {
    const prompt = prompts()[0]
    const before = model.tokensRun
    const g = generate(model, tokenizer, prompt, { maxTokens: 200, seed: 1 })
    expect(g.ids).toHaveLength(200)
    // prompt + <|endoftext|> + 199 fed-back tokens: bounded work, no recomputation of the window
    expect(model.tokensRun - before).toBeLessThanOrEqual(g.promptIds.length + 201)
    const again = generate(model, tokenizer, prompt, { maxTokens: 200, seed: 1 })
    expect(again.ids).toEqual(g.ids)
  })

  it('embeds a KGW watermark core detects at p < 1e-6 in 200 tokens, and a different key finds nothing', () => {
    const key = keyFromSecret(new Uint8Array(32).fill(11), { scheme: 'kgw', tokenizer: 'tinylm' })
    const other = keyFromSecret(new Uint8Array(32).fill(12), { scheme: 'kgw', tokenizer: 'tinylm' })
    const g = generate(model, tokenizer, prompts()[1], { maxTokens: 200, sampler: watermarkSampler(key, {}, seededRng(5)) })
    expect(detect({ text: g.text, keys: key, tokenizer }).pValue).toBeLessThan(1e-6)
    expect(detect({ text: g.text, keys: other, tokenizer }).pValue).toBeGreaterThan(1e-3)
  })
})
