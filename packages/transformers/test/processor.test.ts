import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { AutoModelForCausalLM, AutoTokenizer, Tensor, env, type PreTrainedModel, type PreTrainedTokenizer } from '@huggingface/transformers'
import { beforeAll, describe, expect, it } from 'vitest'
import { biasLogits, detect, huggingFaceTokenizer, keyFromSecret, type SchemeId } from '@tokenmark/core'
import { WatermarkLogitsProcessor } from '@tokenmark/transformers'

// The shipped model, loaded by transformers.js from local files only (models/tinylm: config.json,
// tokenizer.json, tokenizer_config.json, onnx/model.onnx).
const modelsDir = fileURLToPath(new URL('../../../models/', import.meta.url))
const coreTokenizer = huggingFaceTokenizer(readFileSync(`${modelsDir}tinylm/tokenizer.json`, 'utf8'), 'tinylm')
const keyFor = (scheme: SchemeId, fill: number) => keyFromSecret(new Uint8Array(32).fill(fill), { scheme, tokenizer: 'tinylm' })

let model: PreTrainedModel
let tokenizer: PreTrainedTokenizer
beforeAll(async () => {
  env.allowRemoteModels = false
  env.localModelPath = modelsDir
  tokenizer = await AutoTokenizer.from_pretrained('tinylm')
  model = await AutoModelForCausalLM.from_pretrained('tinylm', { dtype: 'fp32', device: 'cpu' })
})

async function answer(processor: WatermarkLogitsProcessor, prompt: string): Promise<string> {
  const inputs = tokenizer(prompt)
  const out = (await model.generate({ ...inputs, max_new_tokens: 200, min_new_tokens: 200, do_sample: false, logits_processor: [processor] })) as Tensor
  const promptLength = inputs.input_ids.dims[1]
  const ids = Array.from(out.data as BigInt64Array, Number).slice(promptLength)
  expect(ids).toHaveLength(200)
  return tokenizer.decode(ids)
}

describe('WatermarkLogitsProcessor inside transformers.js generate()', () => {
  for (const [i, scheme] of (['kgw', 'gumbel', 'synthid', 'unigram'] as const).entries()) {
    it(`embeds ${scheme}: core detects a 200-token answer at p < 1e-6; another key finds nothing`, async () => {
      const key = keyFor(scheme, 21 + i)
      const text = await answer(new WatermarkLogitsProcessor(key, { seed: 7 }), 'The whale, said the captain, is')
      expect(detect({ text, keys: key, tokenizer: coreTokenizer }).pValue).toBeLessThan(1e-6)
      expect(detect({ text, keys: keyFor(scheme, 99), tokenizer: coreTokenizer }).pValue).toBeGreaterThan(1e-3)
    })
  }

  it('is deterministic for its seed', async () => {
    const key = keyFor('gumbel', 31)
    const a = await answer(new WatermarkLogitsProcessor(key, { seed: 1, temperature: 0.9 }), 'It was a dark night')
    const b = await answer(new WatermarkLogitsProcessor(key, { seed: 1, temperature: 0.9 }), 'It was a dark night')
    expect(a).toBe(b)
  })

  it("in 'bias' mode adds core's δ to the green tokens of each row and nothing else", () => {
    const key = keyFor('kgw', 41)
    const V = coreTokenizer.vocabSize
    const data = new Float32Array(2 * V).map((_, j) => Math.sin(j))
    const logits = new Tensor('float32', data.slice(), [2, V])
    const rows = [[1n, 2n, 3n], [4n, 5n]]
    new WatermarkLogitsProcessor(key, { mode: 'bias' })._call(rows, logits)
    const want0 = biasLogits(key, data.subarray(0, V), Uint32Array.of(1, 2, 3))
    const want1 = biasLogits(key, data.subarray(V), Uint32Array.of(4, 5))
    expect(Array.from((logits.data as Float32Array).subarray(0, V))).toEqual(Array.from(want0))
    expect(Array.from((logits.data as Float32Array).subarray(V))).toEqual(Array.from(want1))
  })

  it('refuses bias mode for schemes that choose the token themselves', () => {
    expect(() => new WatermarkLogitsProcessor(keyFor('gumbel', 1), { mode: 'bias' })).toThrow(/select/)
  })
})
