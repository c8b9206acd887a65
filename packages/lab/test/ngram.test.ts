import { describe, expect, it } from 'vitest'
import { LabError, NGramModel, createRng } from '@tokenmark/lab'
import { smallByteModel } from './helpers.js'

const V = 200_019

function contexts(seq: Uint32Array): Uint32Array[] {
  return [
    new Uint32Array(0),
    seq.subarray(0, 1),
    seq.subarray(100, 103),
    seq.subarray(200, 210), // longer than order − 1: only the last 3 count
    Uint32Array.of(5, 6, 7), // ids never seen in training: pure back-off
    Uint32Array.of(seq[10], seq[11], 9), // last token unseen
  ]
}

describe('interpolated modified Kneser–Ney n-gram model', () => {
  it('gives a proper distribution: logits sum to 1 over all 200,019 ids within 1e-6', () => {
    const { model, heldout } = smallByteModel()
    const out = new Float32Array(V)
    for (const ctx of contexts(heldout[0])) {
      model.logits(ctx, out)
      let sum = 0
      for (let w = 0; w < V; w++) sum += Math.exp(out[w])
      expect(Math.abs(sum - 1)).toBeLessThan(1e-6)
    }
  })

  it('agrees between sparse candidates, full logits and single log-probabilities', () => {
    const { model, heldout } = smallByteModel()
    for (const ctx of contexts(heldout[0])) {
      const d = model.nextTokenDistribution(ctx)
      const logits = model.logits(ctx)
      let sum = 0
      for (let j = 0; j < d.ids.length; j++) {
        if (j > 0) expect(d.probs[j]).toBeLessThanOrEqual(d.probs[j - 1])
        expect(Math.log(d.probs[j])).toBeCloseTo(logits[d.ids[j]], 4)
        expect(model.logProb(ctx, d.ids[j])).toBeCloseTo(logits[d.ids[j]], 4)
        sum += d.probs[j]
      }
      expect(d.backoff).toBeCloseTo(1 - sum, 5)
      expect(d.backoff).toBeGreaterThan(0)
    }
  })

  it('uses the longest context seen in training', () => {
    const { model, train } = smallByteModel()
    expect(model.nextTokenDistribution(train[0].subarray(50, 53)).order).toBe(4)
    expect(model.nextTokenDistribution(Uint32Array.of(1, 2, train[0][0])).order).toBe(2)
    expect(model.nextTokenDistribution(Uint32Array.of(3)).order).toBe(1)
  })

  it('samples exactly from its own distribution (10,000 draws, every frequency within 5 sigma)', () => {
    const { model, heldout } = smallByteModel()
    const ctx = heldout[0].subarray(40, 43)
    const rng = createRng(7)
    const N = 10_000
    const counts = new Map<number, number>()
    for (let i = 0; i < N; i++) {
      const t = model.sample(ctx, rng)
      counts.set(t, (counts.get(t) ?? 0) + 1)
    }
    const d = model.nextTokenDistribution(ctx)
    let other = N
    for (let j = 0; j < d.ids.length; j++) {
      const p = d.probs[j]
      const c = counts.get(d.ids[j]) ?? 0
      other -= c
      expect(Math.abs(c - N * p)).toBeLessThan(5 * Math.sqrt(N * p * (1 - p)) + 1)
    }
    expect(Math.abs(other - N * d.backoff)).toBeLessThan(5 * Math.sqrt(N * d.backoff) + 1)
  })

  it('samples every id, seen or not, with its model probability (tiny vocabulary, all orders)', () => {
    const m = NGramModel.train([Uint32Array.of(1, 2, 3, 1, 2, 4, 1, 2, 3, 5, 5, 7)], { vocabSize: 12, order: 3 })
    const rng = createRng(3)
    const N = 40_000
    for (const ctx of [Uint32Array.of(1, 2), Uint32Array.of(9, 9), new Uint32Array(0)]) {
      const counts = new Float64Array(12)
      for (let i = 0; i < N; i++) counts[m.sample(ctx, rng)]++
      const l = m.logits(ctx)
      for (let w = 0; w < 12; w++) {
        const p = Math.exp(l[w])
        expect(Math.abs(counts[w] - N * p)).toBeLessThan(5 * Math.sqrt(N * p * (1 - p)) + 1)
      }
    }
  })

  it('samples exactly from P^(1/T) at other temperatures: tiny vocabulary at every order, and a 200k vocabulary', () => {
    const tempered = (l: Float32Array, T: number) => {
      let z = 0
      const p = Float64Array.from(l, (x) => Math.exp(x / T))
      for (const x of p) z += x
      return p.map((x) => x / z)
    }
    const tiny = NGramModel.train([Uint32Array.of(1, 2, 3, 1, 2, 4, 1, 2, 3, 5, 5, 7)], { vocabSize: 12, order: 3 })
    const { model, heldout } = smallByteModel()
    const rng = createRng(11)
    const N = 40_000
    for (const [m, ctx] of [[tiny, Uint32Array.of(1, 2)], [tiny, Uint32Array.of(9, 9)], [tiny, new Uint32Array(0)], [model, heldout[0].subarray(40, 43)], [model, Uint32Array.of(150, 151, 152)]] as const) {
      for (const T of [0.5, 0.2, 1.7]) {
        const p = tempered(m.logits(ctx), T)
        const counts = new Map<number, number>()
        for (let i = 0; i < N; i++) {
          const t = m.sampleTempered(ctx, T, rng)
          counts.set(t, (counts.get(t) ?? 0) + 1)
        }
        // ids expected at least 5 times one by one; the rest (200k rare ids) as one bin
        let checked = 0
        let restP = 0
        let restC = 0
        for (let w = 0; w < p.length; w++) {
          const c = counts.get(w) ?? 0
          if (N * p[w] < 5) {
            restP += p[w]
            restC += c
            continue
          }
          checked++
          expect(Math.abs(c - N * p[w]), `T ${T} id ${w}`).toBeLessThan(5 * Math.sqrt(N * p[w] * (1 - p[w])) + 1)
        }
        expect(Math.abs(restC - N * restP), `T ${T} rare ids`).toBeLessThan(5 * Math.sqrt(N * restP) + 1)
        expect(checked).toBeGreaterThan(1)
      }
    }
    expect(() => tiny.sampleTempered(Uint32Array.of(1), 0, rng)).toThrow(LabError)
  })

  it('keeps unseen ids possible but rare: the unknown type gets one share of the base distribution', () => {
    const { model } = smallByteModel()
    const l = model.logits(Uint32Array.of(150, 151, 152)) // bytes never seen: back-off to order 1
    let unseen = 0
    for (let w = 256; w < V; w++) unseen += Math.exp(l[w])
    expect(unseen).toBeGreaterThan(0)
    expect(unseen).toBeLessThan(0.01)
  })

  it('has lower held-out perplexity than an add-one model of the same order and than add-one unigrams', () => {
    const { model, train, heldout } = smallByteModel()
    const kn = model.perplexity(heldout)
    const addOne = (order: number) => {
      const counts = new Map<string, number>()
      for (const s of train) {
        for (let i = 0; i < s.length; i++) {
          for (const k of [order, order - 1]) {
            if (i + 1 < k) continue
            const key = Array.from(s.subarray(i + 1 - k, i + 1)).join(',')
            counts.set(key, (counts.get(key) ?? 0) + 1)
          }
        }
      }
      let total = 0
      for (const s of train) total += s.length
      let nll = 0
      let n = 0
      for (const s of heldout) {
        for (let i = order - 1; i < s.length; i++) {
          const num = counts.get(Array.from(s.subarray(i + 1 - order, i + 1)).join(',')) ?? 0
          const den = order === 1 ? total : (counts.get(Array.from(s.subarray(i + 1 - order, i)).join(',')) ?? 0)
          nll -= Math.log((num + 1) / (den + V))
          n++
        }
      }
      return Math.exp(nll / n)
    }
    const laplace4 = addOne(4)
    const laplace1 = addOne(1)
    console.log(`byte model, held-out perplexity: KN-4 ${kn.toFixed(2)}, add-one-4 ${laplace4.toFixed(1)}, add-one-1 ${laplace1.toFixed(1)}`)
    expect(kn).toBeLessThan(laplace4 / 2)
    expect(kn).toBeLessThan(laplace1)
    expect(model.perplexity(train.slice(0, 2))).toBeLessThan(kn)
  })

  it('estimates three discounts per order between 0 and r', () => {
    const { model } = smallByteModel()
    for (const d of model.stats().discounts) {
      expect(d).toHaveLength(3)
      d.forEach((x, r) => {
        expect(x).toBeGreaterThan(0)
        expect(x).toBeLessThanOrEqual(r + 1)
      })
    }
  })

  it('rejects token ids outside the vocabulary and empty training data with LabError', () => {
    expect(() => NGramModel.train([Uint32Array.of(1, 2, 300)], { vocabSize: 256 })).toThrow(LabError)
    expect(() => NGramModel.train([], { vocabSize: 256 })).toThrow(/no training tokens/)
    expect(() => NGramModel.train([Uint32Array.of(1)], { vocabSize: 256, order: 9 })).toThrow(/order/)
    const m = NGramModel.train([Uint32Array.of(1, 2, 3, 1, 2, 4)], { vocabSize: 8, order: 3 })
    expect(() => m.logProb(Uint32Array.of(1), 8)).toThrow(/outside the vocabulary/)
    expect(() => m.logits(Uint32Array.of(1), new Float32Array(7))).toThrow(/length/)
  })

  it('handles a tiny corpus and order 1 to 5 as proper distributions', () => {
    const seq = Uint32Array.of(1, 2, 3, 1, 2, 4, 1, 2, 3, 5, 5, 5)
    for (let order = 1; order <= 5; order++) {
      const m = NGramModel.train([seq], { vocabSize: 10, order })
      for (const ctx of [Uint32Array.of(1, 2), Uint32Array.of(9), new Uint32Array(0)]) {
        const l = m.logits(ctx)
        expect(l.reduce((a, x) => a + Math.exp(x), 0)).toBeCloseTo(1, 6)
      }
    }
  })
})
