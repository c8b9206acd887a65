import { describe, expect, it } from 'vitest'
import { createRng, plainSampler, subSeed, type SamplingOptions } from '@tokenmark/lab'

/** Brute-force target distribution: temperature, then top-k, then top-p on the renormalised top-k. */
function expected(logits: number[], o: Required<SamplingOptions>): number[] {
  const w = logits.map((l) => Math.exp(l / o.temperature))
  const order = w.map((_, i) => i).sort((a, b) => w[b] - w[a] || a - b)
  let kept = o.topK > 0 ? order.slice(0, o.topK) : order
  const mass = kept.reduce((a, i) => a + w[i], 0)
  if (o.topP < 1) {
    let acc = 0
    let n = 0
    while (n < kept.length && acc < o.topP * mass) acc += w[kept[n++]]
    kept = kept.slice(0, n)
  }
  const z = kept.reduce((a, i) => a + w[i], 0)
  return w.map((x, i) => (kept.includes(i) ? x / z : 0))
}

describe('plain sampler', () => {
  const logits = [-1, 0.5, -3, -3, -3, 1.2, -0.2, -3, -8]
  const cases: Required<SamplingOptions>[] = [
    { temperature: 1, topK: 0, topP: 1 },
    { temperature: 0.5, topK: 0, topP: 1 },
    { temperature: 2, topK: 3, topP: 1 },
    { temperature: 1, topK: 0, topP: 0.8 },
    { temperature: 1.5, topK: 4, topP: 0.7 },
  ]
  for (const o of cases) {
    it(`draws softmax(l/T) with top-k ${o.topK} and top-p ${o.topP} at T = ${o.temperature} (30,000 draws within 5 sigma)`, () => {
      const sample = plainSampler(o, createRng(subSeed(1, JSON.stringify(o))))
      const N = 30_000
      const counts = new Array<number>(logits.length).fill(0)
      const l = Float32Array.from(logits)
      for (let i = 0; i < N; i++) counts[sample(l, new Uint32Array(0))]++
      expected(Array.from(l), o).forEach((p, i) => {
        expect(Math.abs(counts[i] - N * p)).toBeLessThanOrEqual(5 * Math.sqrt(N * p * (1 - p)) + (p === 0 ? 0 : 1))
      })
    })
  }

  it('is greedy at temperature 0 and deterministic for a seed', () => {
    const l = Float32Array.from(logits)
    expect(plainSampler({ temperature: 0 }, createRng(1))(l, new Uint32Array(0))).toBe(5)
    const a = plainSampler({}, createRng(4))
    const b = plainSampler({}, createRng(4))
    for (let i = 0; i < 50; i++) expect(a(l, new Uint32Array(0))).toBe(b(l, new Uint32Array(0)))
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
