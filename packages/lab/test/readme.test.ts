// The README's example, run as written (kept in sync by hand: change both together).
import { describe, expect, it } from 'vitest'
import { getTokenizer, plainSampler, seededRng } from '@tokenmark/core'
import { attacks, generate, loadModel, prompts, saveModel, trainReferenceModel } from '@tokenmark/lab'

describe('README example', () => {
  it('trains, generates with the lab sampler and with a core sampler, attacks, and round-trips', () => {
    const tokenizer = getTokenizer('o200k_base')
    const model = trainReferenceModel(tokenizer)
    const a = generate(model, tokenizer, prompts()[0], { maxTokens: 60, seed: 1, stopAt: 'sentence' })
    const b = generate(model, tokenizer, 'Call me Ishmael.', { maxTokens: 60, sampler: plainSampler({ topP: 0.95 }, seededRng(7)) })
    const logits = model.logits(b.ids.subarray(0, 10))
    const { ids, probs, backoff } = model.nextTokenDistribution(b.ids.subarray(0, 10))
    const attacked = attacks.substitute.apply(a.ids, { strength: 0.2, seed: 3 }, { model, tokenizer, prefix: a.promptIds })
    const same = loadModel(saveModel(model, { tokenizer: tokenizer.name })).model

    expect(a.ids.length).toBeGreaterThan(0)
    expect(b.ids.length).toBe(60)
    expect(logits.length).toBe(200_019)
    expect(ids.length).toBe(probs.length)
    expect(backoff).toBeGreaterThan(0)
    expect(attacked.ids.length).toBe(a.ids.length)
    expect(Buffer.from(same.logits(b.ids.subarray(0, 10)).buffer).equals(Buffer.from(logits.buffer))).toBe(true)
  })
})
