/**
 * The corpus test for radioactivity and investigations (docs/spec.md#corpus): many texts from one
 * suspect source, tokenized with the provider's tokenizer, scored with de-duplication across the
 * whole corpus (not per text), tuples that occur in the prompts excluded (a suspect that copies its
 * prompt must not be credited or blamed for the prompt's tuples), optionally restricted by an emission
 * filter. It is a Scorer (scorer.ts) whose result names the corpus; memory is the de-duplication set
 * plus the exclusion set, whatever the corpus size.
 *
 * H0: the suspect's texts were produced without the key's watermark influencing them (no training on
 * watermarked text, no access to the key). Then distinct scored tuples have iid null observations and
 * the exact tests of significance.ts hold; the e-value (evalue.ts) is valid at any stopping time.
 */
import type { Accumulator } from './accumulate.js'
import type { EmissionFilter } from './emission.js'
import type { WatermarkKey } from './keys.js'
import { outcomeOf, type Outcome } from './outcome.js'
import type { SchemeId } from './schemes/types.js'
import { Scorer, type ScorerOptions } from './scorer.js'

export interface CorpusOptions extends Omit<ScorerOptions, 'filter' | 'accumulator'> {
  filter?: EmissionFilter
  /** Significance level for `detected` (default 1e-6). */
  alpha?: number
}

/** The corpus test's outcome, with what it was run on. */
export interface CorpusResult extends Outcome {
  texts: number
  scheme: SchemeId
  keyId: string
  /** Whether an emission filter restricted scoring. */
  filter: boolean
}

/**
 * The corpus test's result from an accumulator alone — what a server that keeps a case's merged
 * accumulator reports without rescoring (CorpusScanner.result() is this function).
 */
export function corpusResult(acc: Accumulator, opts: { texts: number; filter?: boolean; alpha?: number }): CorpusResult {
  return { ...outcomeOf(acc, { alpha: opts.alpha }), texts: opts.texts, scheme: acc.scheme, keyId: acc.keyId, filter: opts.filter ?? false }
}

/** A Scorer for one corpus, with its significance level and a result that names the corpus. */
export class CorpusScanner extends Scorer {
  readonly #alpha: number | undefined
  readonly #filter: boolean

  constructor(key: WatermarkKey, opts: CorpusOptions = {}) {
    super(key, opts)
    this.#alpha = opts.alpha
    this.#filter = opts.filter !== undefined
  }

  result(): CorpusResult {
    return corpusResult(this.accumulator, { texts: this.texts, filter: this.#filter, alpha: this.#alpha })
  }
}
