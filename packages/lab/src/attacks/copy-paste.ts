/**
 * Copy-paste: a watermarked passage embedded in human text (the "copy-paste attack" of Kirchenbauer et al.,
 * "On the Reliability of Watermarks for LLMs", 2023, §4), at a given share of the result.
 */
import { LabError } from '../errors.js'
import { createRng } from '../rng.js'
import { type AttackOptions, checkAttack, checkIds } from './common.js'

export interface CopyPasteOptions extends AttackOptions {
  /** Human-written token ids to paste the passage into (at least round(strength · n) of them). */
  human: Uint32Array
}

/**
 * Keeps the length n: h = round(strength · n) tokens come from a window of `human` at a seeded offset, and
 * the first n − h watermarked tokens are pasted in one piece at a seeded position inside that window. So
 * `strength` is the human share of the result.
 */
export function copyPaste(ids: Uint32Array, options: CopyPasteOptions): Uint32Array {
  checkIds('copyPaste', ids)
  checkAttack('copyPaste', options)
  checkIds('copyPaste: human', options.human)
  const n = ids.length
  const h = Math.round(options.strength * n)
  const human = options.human
  if (human.length < h) throw new LabError('E_BAD_INPUT', `copyPaste: needs ${h} human tokens, got ${human.length}; pass a longer human text`)
  const rng = createRng(options.seed)
  const start = rng.nextInt(human.length - h + 1)
  const at = rng.nextInt(h + 1)
  const out = new Uint32Array(n)
  out.set(human.subarray(start, start + at))
  out.set(ids.subarray(0, n - h), at)
  out.set(human.subarray(start + at, start + h), at + n - h)
  return out
}
