// Every core scheme runs on the reference model unchanged: the generation loop only sees a NextTokenSampler.
import { describe, expect, it } from 'vitest'
import { detect, keyFromSecret, schemeIds, seededRng, watermarkSampler } from '@tokenmark/core'
import { generate, prompts } from '@tokenmark/lab'
import { o200kModel } from './helpers-o200k.js'

const secret = (b: number) => new Uint8Array(32).fill(b)

describe('core watermark samplers on the reference model', () => {
  for (const scheme of schemeIds()) {
    it(`${scheme}: 100 generated tokens are detected at p < 1e-6, and not with another key`, () => {
      const { model, tokenizer } = o200kModel()
      const key = keyFromSecret(secret(1), { scheme })
      const other = keyFromSecret(secret(2), { scheme })
      const g = generate(model, tokenizer, prompts()[5], { maxTokens: 100, sampler: watermarkSampler(key, {}, seededRng(42)) })
      expect(g.ids).toHaveLength(100)
      const hit = detect({ tokens: g.ids, keys: key })
      const miss = detect({ tokens: g.ids, keys: other })
      console.log(`${scheme}: log10 p ${hit.log10P.toFixed(1)} with the key, ${miss.log10P.toFixed(2)} with another (${hit.tokensScored} scored)`)
      expect(hit.pValue).toBeLessThan(1e-6)
      expect(miss.pValue).toBeGreaterThan(1e-3)
    })
  }
})
