import { describe, expect, it } from 'vitest'
import { keyFromSecret, plainSampler, seededRng, watermarkSampler } from '@tokenmark/core'
import { LabError, generate, generateIds, prompts, type NextTokenSampler } from '@tokenmark/lab'
import { smallByteModel } from './helpers.js'
import { o200kModel } from './helpers-o200k.js'

describe('generation loop', () => {
  it('is deterministic for a seed and differs across seeds (exact and full-logits paths)', () => {
    const { model, tokenizer } = o200kModel()
    const prompt = prompts()[0]
    for (const extra of [{}, { temperature: 0.8 }, { topP: 0.9 }, { topK: 40 }]) {
      const a = generate(model, tokenizer, prompt, { maxTokens: 20, seed: 1, ...extra })
      const b = generate(model, tokenizer, prompt, { maxTokens: 20, seed: 1, ...extra })
      const c = generate(model, tokenizer, prompt, { maxTokens: 20, seed: 2, ...extra })
      expect(a.ids).toEqual(b.ids)
      expect(a.text).toBe(b.text)
      expect(a.ids).toHaveLength(20)
      expect(a.ids).not.toEqual(c.ids)
      expect(a.promptIds).toEqual(tokenizer.encode(prompt))
      expect(a.text).toBe(tokenizer.decode(a.ids))
    }
  })

  it('hands any sampler the full-vocabulary logits and the prompt plus tokens so far', () => {
    const { model, tokenizer } = o200kModel()
    const promptIds = tokenizer.encode('Call me Ishmael.')
    const seen: { len: number; ctx: number[] }[] = []
    const greedy: NextTokenSampler = (logits, context) => {
      seen.push({ len: logits.length, ctx: Array.from(context) })
      let best = 0
      for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i
      return best
    }
    const { ids } = generateIds(model, promptIds, { maxTokens: 5, sampler: greedy })
    expect(seen).toHaveLength(5)
    expect(seen.every((s) => s.len === 200_019)).toBe(true)
    expect(seen[0].ctx).toEqual(Array.from(promptIds))
    expect(seen[4].ctx).toEqual([...promptIds, ...ids.subarray(0, 4)])
    // temperature 0 and top-k 1 are the same greedy choice
    expect(generateIds(model, promptIds, { maxTokens: 5, temperature: 0 }).ids).toEqual(ids)
    expect(generateIds(model, promptIds, { maxTokens: 5, topK: 1, seed: 9 }).ids).toEqual(ids)
  })

  it('stops after a sentence or a paragraph when asked', () => {
    const { model, tokenizer } = o200kModel()
    let sentences = 0
    for (let seed = 0; seed < 10; seed++) {
      const g = generate(model, tokenizer, 'The whale', { maxTokens: 200, seed, stopAt: 'sentence' })
      if (g.stop === 'sentence') {
        sentences++
        const end = /(?:[.!?]["'’”)\]]*|\n)[^\S\n]*$/
        expect(g.text).toMatch(end)
        expect(tokenizer.decode(g.ids.subarray(0, -1))).not.toMatch(end) // it stopped at the first end
      }
      const p = generate(model, tokenizer, 'The whale', { maxTokens: 400, seed, stopAt: 'paragraph' })
      if (p.stop === 'paragraph') expect(p.text).toMatch(/\n\s*\n$/)
    }
    expect(sentences).toBeGreaterThan(5)
  })

  // Speed lives in `npm run bench -- lab`; here the work that makes it fast: the default path samples the
  // model exactly (O(candidates)) and never materialises the full-vocabulary logits.
  it('samples through model.sample without full logits by default, and uses full logits only when asked', () => {
    const { model, tokenizer } = o200kModel()
    const promptIds = tokenizer.encode(prompts()[3])
    const calls = { logits: 0, sample: 0 }
    const counted = Object.create(model) as typeof model
    counted.logits = (c, out) => (calls.logits++, model.logits(c, out))
    counted.sample = (c, rng) => (calls.sample++, model.sample(c, rng))
    const a = generateIds(counted, promptIds, { maxTokens: 200, seed: 3 })
    expect(calls.logits).toBe(0)
    expect(calls.sample).toBe(a.ids.length)
    calls.sample = 0
    const b = generateIds(counted, promptIds, { maxTokens: 20, seed: 3, sampler: plainSampler({}, seededRng(3)) })
    expect(calls.logits).toBe(b.ids.length)
    expect(calls.sample).toBe(0)
  })

  it('rejects bad options with LabError and a sampler that returns a non-id', () => {
    const { model } = smallByteModel()
    const p = Uint32Array.of(72, 105)
    expect(() => generateIds(model, p, { maxTokens: -1 })).toThrow(LabError)
    expect(() => generateIds(model, p, { maxTokens: 3, topP: 0 })).toThrow(/topP/)
    expect(() => generateIds(model, p, { maxTokens: 3, stopAt: 'sentence' })).toThrow(/tokenizer/)
    expect(() => generateIds(model, p, { maxTokens: 3, sampler: () => -1 })).toThrow(/not a token id/)
  })
})
