import { describe, expect, it } from 'vitest'
import { seededRng } from '@tokenmark/core'
import { createRng, encodeCorpus } from '@tokenmark/lab'
import { o200kHeldout, o200kModel } from './helpers-o200k.js'

describe('reference model: order 4 over o200k_base on the full Moby Dick train split', () => {
  it('trains in seconds and predicts held-out chapters far better than add-one', () => {
    const { model, tokenizer, trainMs } = o200kModel()
    const heldout = o200kHeldout()
    const ppl = model.perplexity(heldout)
    // add-one unigram over the 200,019-id vocabulary, the simplest baseline with full support
    const train = encodeCorpus(tokenizer, 'train')
    const counts = new Map<number, number>()
    let N = 0
    for (const s of train) for (const t of s) (counts.set(t, (counts.get(t) ?? 0) + 1), N++)
    let nll = 0
    let n = 0
    for (const s of heldout) for (const t of s) (nll -= Math.log(((counts.get(t) ?? 0) + 1) / (N + model.vocabSize)), n++)
    const addOne = Math.exp(nll / n)
    const s = model.stats()
    console.log(`o200k order 4: trained in ${(trainMs / 1000).toFixed(2)} s on ${s.tokens} tokens; held-out perplexity ${ppl.toFixed(1)} (add-one unigram ${addOne.toFixed(0)}); n-grams ${s.ngrams.join('/')}`)
    expect(trainMs).toBeLessThan(20_000)
    expect(model.vocabSize).toBe(200_019)
    expect(ppl).toBeLessThan(addOne / 3)
    expect(ppl).toBeLessThan(450)
  })

  it('gives a proper distribution over all 200,019 ids after real contexts', () => {
    const { model } = o200kModel()
    const seq = o200kHeldout()[0]
    const out = new Float32Array(model.vocabSize)
    for (const i of [0, 1, 2, 50, 500]) {
      model.logits(seq.subarray(Math.max(0, i - 3), i), out)
      let sum = 0
      for (let w = 0; w < out.length; w++) sum += Math.exp(out[w])
      expect(Math.abs(sum - 1)).toBeLessThan(1e-6)
    }
  })

  it('draws the same stream from createRng as core’s seededRng', () => {
    for (const seed of [0, 1, 0xffffffff]) {
      const a = createRng(seed)
      const b = seededRng(seed)
      for (let i = 0; i < 100; i++) expect(a.nextU32()).toBe(b.nextU32())
      expect(a.nextFloat()).toBe(b.nextFloat())
    }
  })
})
