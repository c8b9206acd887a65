import { describe, expect, it } from 'vitest'
import { keyFromSecret, seededRng, watermarkSampler } from '@tokenmark/core'
import { createRng, generateIds, prompts, subSeed } from '@tokenmark/lab'
import { o200kModel } from './helpers-o200k.js'

/** The k best ids of a full logits vector by (logit desc, id asc), with their logits. */
function bruteTopK(logits: Float32Array, k: number): { ids: number[]; logits: number[] } {
  const order = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b)
  return { ids: order.slice(0, k), logits: order.slice(0, k).map((i) => logits[i]) }
}

describe('exact top-k candidates', () => {
  it('equal the top k of the full-vocabulary logits (o200k model, 40 contexts, k = 1, 50, 400)', () => {
    const { model, tokenizer } = o200kModel()
    const text = tokenizer.encode(prompts()[7] + ' ' + prompts()[40])
    const full = new Float32Array(model.vocabSize)
    const contexts = [new Uint32Array(0), Uint32Array.of(999_99), ...Array.from({ length: 38 }, (_, i) => text.subarray(0, 1 + ((i * 7) % text.length)))]
    for (const ctx of contexts) {
      model.logits(ctx, full)
      for (const k of [1, 50, 400]) {
        const c = model.topCandidates(ctx, k)
        const b = bruteTopK(full, k)
        expect(c.ids.length).toBe(k)
        // Same logits position by position (float32 rounding aside); ids equal except inside exact ties.
        for (let i = 0; i < k; i++) expect(c.logits[i]).toBeCloseTo(b.logits[i], 4)
        const kth = b.logits[k - 1]
        const sure = (ids: ArrayLike<number>, lg: ArrayLike<number>) => Array.from(ids).filter((_, i) => lg[i] > kth + 1e-5).sort()
        expect(sure(c.ids, c.logits)).toEqual(sure(b.ids, b.logits))
      }
    }
  })

  // Speed lives in `npm run bench -- lab`; here the work that makes it fast: with top-k the watermark sampler
  // is handed the model's k candidates and the full-vocabulary logits are never computed.
  it('hands a watermark sampler only the top-k candidates, never the full logits', () => {
    const { model, tokenizer } = o200kModel()
    const key = keyFromSecret(new Uint8Array(32).fill(9), { scheme: 'kgw' })
    const p = tokenizer.encode(prompts()[3])
    let logitsCalls = 0
    const counted = Object.create(model) as typeof model
    counted.logits = (c, out) => (logitsCalls++, model.logits(c, out))
    const widths: number[] = []
    const inner = watermarkSampler(key, { topK: 50 }, seededRng(1))
    const g = generateIds(counted, p, { maxTokens: 300, topK: 50, sampler: (lg, ctx, ids) => (widths.push(lg.length), inner(lg, ctx, ids)) })
    expect(logitsCalls).toBe(0)
    expect(widths).toHaveLength(g.ids.length)
    expect(Math.max(...widths)).toBeLessThanOrEqual(50)
  })

  it('is greedy at temperature 0 (top-1 candidate = argmax of the full logits)', () => {
    const { model, tokenizer } = o200kModel()
    const p = tokenizer.encode('Call me Ishmael.')
    const g = generateIds(model, p, { maxTokens: 6, temperature: 0 }).ids
    const ctx = Array.from(p)
    for (const id of g) {
      expect(id).toBe(bruteTopK(model.logits(Uint32Array.from(ctx)), 1).ids[0])
      ctx.push(id)
    }
  })
})

describe('seeded RNG', () => {
  it('gives uniform floats in [0, 1) and unbiased integers', () => {
    const r = createRng(123)
    const bins = new Array<number>(7).fill(0)
    let outside = 0
    for (let i = 0; i < 70_000; i++) {
      const x = r.nextFloat()
      if (!(x >= 0 && x < 1)) outside++
      bins[r.nextInt(7)]++
    }
    expect(outside).toBe(0)
    for (const b of bins) expect(Math.abs(b - 10_000)).toBeLessThan(500)
  })

  it('derives distinct sub-seeds per label', () => {
    expect(subSeed(1, 'a')).not.toBe(subSeed(1, 'b'))
    expect(subSeed(1, 'a')).toBe(subSeed(1, 'a'))
  })
})
