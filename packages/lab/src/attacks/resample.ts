/**
 * Span re-sampling: regenerate a fraction of the text with the unwatermarked model — the closest offline
 * stand-in for a paraphrase (cf. the span-replacement attacks of Kirchenbauer et al. 2023, §7).
 */
import { createRng } from '../rng.js'
import { checkRange } from '../errors.js'
import { checkAttack, checkIds, choosePositions, contextAt } from './common.js'
import type { ModelAttackOptions } from './edit.js'

export interface ResampleOptions extends ModelAttackOptions {
  /** Tokens per re-sampled span (default 8). */
  spanLength?: number
}

/**
 * Cuts the ids into aligned blocks of `spanLength` and re-samples round(strength · n / spanLength) of
 * them, chosen uniformly, token by token from the model (temperature 1) given everything before — the
 * attacked text so far, so each span continues what precedes it. Length is preserved; a re-sampled token
 * can happen to equal the original, so slightly fewer than strength · n tokens change.
 */
export function resampleSpans(ids: Uint32Array, options: ResampleOptions): Uint32Array {
  checkIds('resampleSpans', ids)
  checkAttack('resampleSpans', options)
  const { model, prefix = new Uint32Array(0), spanLength = 8 } = options
  checkRange('resampleSpans: spanLength', spanLength, 1, 1 << 20)
  const L = Math.floor(spanLength)
  const rng = createRng(options.seed)
  const n = ids.length
  const blocks = Math.ceil(n / L)
  const k = Math.min(blocks, Math.round((options.strength * n) / L))
  const chosen = choosePositions(blocks, blocks === 0 ? 0 : k / blocks, rng)
  const out = ids.slice()
  for (const b of chosen) {
    for (let i = b * L; i < Math.min(n, (b + 1) * L); i++) out[i] = model.sample(contextAt(prefix, out, i, model.contextLength), rng)
  }
  return out
}
