/** `kgw`: context-seeded green list, fraction γ, bias δ (Kirchenbauer et al., ICML 2023). */
import { numberParam, rejectUnknown, seedingParam } from './params.js'
import { prepareGreenList } from './greenlist.js'
import type { Scheme, SchemeParams } from './types.js'

export const kgw: Scheme = {
  id: 'kgw',
  title: 'Green-list watermark (KGW)',
  citation: 'Kirchenbauer et al., "A Watermark for Large Language Models", ICML 2023',
  parseParams(raw) {
    rejectUnknown(raw, ['gamma', 'delta', 'seeding', 'context'], 'kgw')
    const seeding = seedingParam(raw, ['lefthash', 'selfhash'], 'lefthash')
    return {
      gamma: numberParam(raw, 'gamma', 0.25, { min: 0, max: 1, minExclusive: true, maxExclusive: true }),
      delta: numberParam(raw, 'delta', 2, { min: 0, max: 20 }),
      seeding,
      context: numberParam(raw, 'context', seeding === 'selfhash' ? 4 : 1, { min: seeding === 'selfhash' ? 2 : 1, max: 16, integer: true }),
    }
  },
  prepare(p: SchemeParams) {
    return prepareGreenList({ rule: p.seeding as 'lefthash' | 'selfhash', context: p.context as number }, p.gamma as number, p.delta as number)
  },
}
