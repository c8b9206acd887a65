import { describe, expect, test } from 'vitest'
import { keyFromSecret, seededRng, watermarkSampler } from '@tokenmark/core'

// docs/spec.md#repeated-contexts: Gumbel samples plainly on a context already used in the generation.
const V = 1000
const ids = [10, 20, 30, 40]
const probs = [0.4, 0.3, 0.2, 0.1]
const logits = new Float32Array(V).fill(-Infinity)
ids.forEach((t, i) => (logits[t] = Math.log(probs[i])))
const keyFor = (k: number) =>
  keyFromSecret(Uint8Array.from({ length: 32 }, (_, i) => (i * 29 + k * 13 + (k >> 8)) & 255), { scheme: 'gumbel', params: { context: 1 }, tokenizer: 'toy' })

/** Two steps of one generation on the same context (width 1): prompt [5, 9], then [5, 9, t, 9]. */
function twoVisits(k: number): [number, number] {
  const sample = watermarkSampler(keyFor(k), {}, seededRng(k))
  const first = sample(logits, Uint32Array.of(5, 9))
  sample(logits, Uint32Array.of(5, 9, first)) // context `first`
  const second = sample(logits, Uint32Array.of(5, 9, first, 9))
  return [first, second]
}

describe('gumbel repeated contexts', () => {
  test('a repeated context is sampled plainly: the second visit does not copy the first', () => {
    const N = 2000
    let same = 0
    const counts = new Map<number, number>()
    for (let k = 0; k < N; k++) {
      const [a, b] = twoVisits(k)
      if (a === b) same++
      counts.set(b, (counts.get(b) ?? 0) + 1)
    }
    // Without the rule every second visit equals the first; plainly sampled, they agree w.p. Σp² = 0.30.
    const agree = probs.reduce((s, p) => s + p * p, 0)
    expect(Math.abs(same / N - agree)).toBeLessThan(4 * Math.sqrt((agree * (1 - agree)) / N))
    // ... and the plain draw follows p (still distortion-free at that position).
    ids.forEach((t, i) => {
      expect(Math.abs((counts.get(t) ?? 0) / N - probs[i])).toBeLessThan(4 * Math.sqrt((probs[i] * (1 - probs[i])) / N))
    })
  })

  test('a new generation starts a new history: the same sampler repeats its first choice on a fresh prompt', () => {
    for (let k = 0; k < 50; k++) {
      const sample = watermarkSampler(keyFor(k), {}, seededRng(k))
      const first = sample(logits, Uint32Array.of(5, 9))
      const again = sample(logits, Uint32Array.of(7, 9)) // not one token longer: a new generation
      expect(again).toBe(first)
    }
  })

  test('a source whose contexts all repeat no longer loops', () => {
    // Eight tokens whose logits depend on the previous token only, context width 1: watermarked Gumbel
    // alone maps each context to one token, so 400 tokens hold at most 8 distinct (context, token) tuples.
    const key = keyFor(1)
    const sample = watermarkSampler(key, {}, seededRng(3))
    const seq = [1, 2]
    const step = new Float32Array(V)
    for (let i = 0; i < 400; i++) {
      const r = seededRng(seq[seq.length - 1])
      step.fill(-Infinity)
      for (let t = 0; t < 8; t++) step[t] = 2 * r.nextFloat()
      seq.push(sample(step, Uint32Array.from(seq)))
    }
    const tuples = new Set(seq.slice(2).map((t, i) => `${seq[i + 1]}:${t}`))
    expect(tuples.size).toBeGreaterThan(30)
  })
})
