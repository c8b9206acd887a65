/** `unigram`: one fixed green list for every position, robust to edits (Zhao et al., ICLR 2024). */
import { numberParam, rejectUnknown } from './params.js'
import { prepareGreenList } from './greenlist.js'
import type { Scheme, SchemeParams } from './types.js'

export const unigram: Scheme = {
  id: 'unigram',
  title: 'Unigram green-list watermark',
  citation: 'Zhao et al., "Provable Robust Watermarking for AI-Generated Text", ICLR 2024',
  parseParams(raw) {
    rejectUnknown(raw, ['gamma', 'delta'], 'unigram')
    return {
      gamma: numberParam(raw, 'gamma', 0.5, { min: 0, max: 1, minExclusive: true, maxExclusive: true }),
      delta: numberParam(raw, 'delta', 2, { min: 0, max: 20 }),
    }
  },
  prepare(p: SchemeParams) {
    return prepareGreenList({ rule: 'none', context: 0 }, p.gamma as number, p.delta as number)
  },
}
