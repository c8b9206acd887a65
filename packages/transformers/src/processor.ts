/**
 * A transformers.js LogitsProcessor that embeds a tokenmark watermark inside `model.generate()`.
 *
 * Every scheme's embed rule is core's (`watermarkSampler`, or `biasLogits` for the green-list schemes), so
 * the detector and this processor share one definition of the watermark (docs/spec.md, "Embedding"). The
 * context the key's seeding reads is the row's ids so far — prompt and generated tokens alike — exactly
 * what core's detector reads from the text, whose first h tokens it skips for want of context.
 *
 * Two modes:
 * - `select` (default, every scheme): the processor draws the next token itself — with the key for the
 *   watermark and a seeded RNG for the rest, at the processor's temperature / top-k / top-p — and leaves
 *   only that token finite. Call generate() with `do_sample: false`, so transformers.js takes it as is.
 * - `bias` (kgw, unigram): adds δ to the green tokens and lets transformers.js sample (`do_sample: true`,
 *   with its own temperature and top-k); a green-list watermark survives any sampler.
 */
import { LogitsProcessor, type Tensor } from '@huggingface/transformers'
import {
  TokenmarkError,
  biasLogits,
  seededRng,
  watermarkSampler,
  type NextTokenSampler,
  type SamplingOptions,
  type WatermarkKey,
} from '@tokenmark/core'

export interface WatermarkProcessorOptions extends SamplingOptions {
  /** `select` (default) or `bias` (kgw and unigram only). */
  mode?: 'select' | 'bias'
  /** u32 seed of the non-watermark randomness in `select` mode (default 0). */
  seed?: number
}

export class WatermarkLogitsProcessor extends LogitsProcessor {
  readonly mode: 'select' | 'bias'
  readonly #key: WatermarkKey
  readonly #sampler: NextTokenSampler | undefined
  #context = new Uint32Array(256)

  constructor(key: WatermarkKey, options: WatermarkProcessorOptions = {}) {
    super()
    const { mode = 'select', seed = 0, ...sampling } = options
    if (mode !== 'select' && mode !== 'bias') throw new TokenmarkError('E_BAD_PARAM', `mode must be 'select' or 'bias', got ${String(mode)}`)
    if (mode === 'bias' && (key.scheme === 'gumbel' || key.scheme === 'synthid')) {
      throw new TokenmarkError('E_BAD_PARAM', `scheme ${key.scheme} chooses the token itself; use mode 'select' with do_sample: false`)
    }
    this.mode = mode
    this.#key = key
    this.#sampler = mode === 'select' ? watermarkSampler(key, sampling, seededRng(seed)) : undefined
  }

  /** The ids of one row as a Uint32Array (reused buffer). */
  #row(ids: bigint[]): Uint32Array {
    if (this.#context.length < ids.length) this.#context = new Uint32Array(Math.max(ids.length, 2 * this.#context.length))
    const ctx = this.#context.subarray(0, ids.length)
    for (let j = 0; j < ids.length; j++) ctx[j] = Number(ids[j])
    return ctx
  }

  override _call(inputIds: bigint[][], logits: Tensor): Tensor {
    for (let i = 0; i < inputIds.length; i++) {
      // logits[i] is a view on row i of the [batch, vocab] tensor: writing it edits the batch in place.
      const row = (logits as unknown as Tensor[])[i].data as Float32Array
      const context = this.#row(inputIds[i])
      if (this.#sampler === undefined) {
        biasLogits(this.#key, row, context, row)
        continue
      }
      const next = this.#sampler(row, context)
      row.fill(-Infinity)
      row[next] = 0
    }
    return logits
  }
}
