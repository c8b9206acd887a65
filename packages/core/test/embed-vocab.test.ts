import { describe, expect, test } from 'vitest'
import { biasLogits, generateKey, seededRng, watermarkSampler } from '@tokenmark/core'

// A provider wiring the sampler to another model's logits (issue 15): a clear error naming both sizes.
describe('the sampler checks the logits against the key tokenizer vocabulary', () => {
  const o200k = generateKey({ scheme: 'kgw', tokenizer: 'o200k_base' })
  const cl100k = generateKey({ scheme: 'gumbel', tokenizer: 'cl100k_base' })

  test('a 32,000-entry array under an o200k key is refused, naming both', () => {
    const sample = watermarkSampler(o200k, {}, seededRng(1))
    expect(() => sample(new Float32Array(32_000), Uint32Array.of(1, 2))).toThrow(
      /logits have 32000 entries but key tmk_[0-9a-f]{16} uses tokenizer o200k_base with a vocabulary of 200019 tokens/,
    )
    expect(() => biasLogits(o200k, new Float32Array(32_000), Uint32Array.of(1))).toThrow(/32000 entries.*o200k_base.*200019/)
  })

  test('o200k logits under a cl100k key are refused too (longer than vocabulary plus padding)', () => {
    const sample = watermarkSampler(cl100k, {}, seededRng(1))
    expect(() => sample(new Float32Array(200_019), Uint32Array.of(1, 2))).toThrow(/200019 entries.*cl100k_base.*100277/)
  })

  test('the exact vocabulary and a padded output layer are accepted; candidate subsets are not checked', () => {
    const sample = watermarkSampler(o200k, {}, seededRng(1))
    const id = sample(new Float32Array(200_019), Uint32Array.of(1, 2))
    expect(id).toBeGreaterThanOrEqual(0)
    expect(id).toBeLessThan(200_019)
    const padded = new Float32Array(200_064).fill(-1e9, 200_019)
    expect(sample(padded, Uint32Array.of(1, 2))).toBeLessThan(200_019)
    expect(sample(Float32Array.of(0, 1, 2), Uint32Array.of(1, 2), Uint32Array.of(10, 20, 30))).toBeOneOf([10, 20, 30])
  })
})
