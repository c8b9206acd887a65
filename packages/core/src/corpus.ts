/**
 * The corpus test for radioactivity and investigations (docs/spec.md#corpus): many texts from one
 * suspect source, tokenized with the provider's tokenizer, scored with de-duplication across the
 * whole corpus (not per text), tuples that occur in the prompts excluded (a suspect that copies its
 * prompt must not be credited or blamed for the prompt's tuples), optionally restricted by an emission
 * filter. Streams: memory is the de-duplication set plus the exclusion set, whatever the corpus size.
 *
 * H0: the suspect's texts were produced without the key's watermark influencing them (no training on
 * watermarked text, no access to the key). Then distinct scored tuples have iid null observations and
 * the exact tests of significance.ts hold; the e-value (evalue.ts) is valid at any stopping time.
 */
import { Accumulator } from './accumulate.js'
import type { EmissionFilter } from './emission.js'
import { eProcess } from './evalue.js'
import type { WatermarkKey } from './keys.js'
import { normalizeText, type NormalizeOptions } from './normalize.js'
import type { SchemeId } from './schemes/types.js'
import { forEachTuple, prepareKey, scoreTokens, type PreparedKey } from './scoring.js'
import { tailTest, testAccumulator } from './significance.js'
import { pFromLog10 } from './stats/pvalue.js'
import { getTokenizer } from './tokenizers/registry.js'
import type { Tokenizer } from './tokenizers/types.js'

export interface CorpusOptions {
  tokenizer?: Tokenizer
  dedup?: boolean
  normalize?: boolean | NormalizeOptions
  /** Prompts whose tuples are excluded from scoring (more can be added with excludePrompt). */
  prompts?: readonly string[]
  filter?: EmissionFilter
  /** Significance level for `detected` (default 1e-6). */
  alpha?: number
}

export interface CorpusResult {
  detected: boolean
  alpha: number
  pValue: number
  log10P: number
  zScore: number
  eValue: number
  log10E: number
  texts: number
  tokensSeen: number
  tokensScored: number
  tokensExcluded: number
  tokensFiltered: number
  tokensDuplicate: number
  tokensNoContext: number
  scheme: SchemeId
  keyId: string
  statistic: string
  value: number
  dedup: boolean
  filter: boolean
  /**
   * Scored tokens needed for p < 1e-6 if the observed per-token effect holds; null when the
   * observed effect is not positive.
   */
  tokensNeeded: number | null
}

const TARGET_LOG10P = -6

/**
 * Scored tuples needed to reach p < 1e-6 at the observed mean effect: the smallest n with
 * tail(n, n·mean) ≤ 1e-6, found by doubling then bisection on the exact tail.
 */
export function tokensNeeded(acc: Accumulator): number | null {
  const n0 = acc.tokensScored
  if (n0 === 0) return null
  const mean = acc.sum / n0
  const model = acc.nullModel
  const nullMean = model.kind === 'binomial' ? model.p * model.trialsPerToken : 1
  if (!(mean > nullMean)) return null
  const ok = (n: number) => tailTest(model, n, mean * n).log10P <= TARGET_LOG10P
  let hi = 1
  while (!ok(hi)) {
    hi *= 2
    if (hi > 1e13) return null
  }
  let lo = Math.floor(hi / 2)
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (ok(mid)) hi = mid
    else lo = mid
  }
  return hi
}

/**
 * The corpus test's result from an accumulator alone — what a server that keeps a case's merged
 * accumulator reports without rescoring (CorpusScanner.result() is this function).
 */
export function corpusResult(acc: Accumulator, opts: { texts: number; filter?: boolean; alpha?: number }): CorpusResult {
  const t = testAccumulator(acc)
  const e = eProcess(acc)
  const alpha = opts.alpha ?? 1e-6
  return {
    detected: t.log10P <= Math.log10(alpha),
    alpha,
    pValue: pFromLog10(t.log10P),
    log10P: t.log10P,
    zScore: t.zScore,
    eValue: e.eValue,
    log10E: e.log10E,
    texts: opts.texts,
    tokensSeen: acc.tokensTotal,
    tokensScored: acc.tokensScored,
    tokensExcluded: acc.skipped.excluded,
    tokensFiltered: acc.skipped.filtered,
    tokensDuplicate: acc.skipped.duplicate,
    tokensNoContext: acc.skipped.noContext,
    scheme: acc.scheme,
    keyId: acc.keyId,
    statistic: acc.statistic,
    value: acc.sum,
    dedup: acc.dedup,
    filter: opts.filter ?? false,
    tokensNeeded: tokensNeeded(acc),
  }
}

/** How scoreSample reads a text: the provider's tokenizer, normalisation, and an optional emission filter. */
export interface SampleScoring {
  tokenizer: Tokenizer
  normalize?: boolean | NormalizeOptions
  filter?: EmissionFilter
}

function prepareText(text: string, normalize: boolean | NormalizeOptions | undefined): string {
  return normalize === false ? text : normalizeText(text, typeof normalize === 'object' ? normalize : undefined).text
}

/**
 * One sample of a corpus into `acc`: its prompt (when given) is tokenized once, its tuples are excluded
 * (from every sample, earlier ones too, through the accumulator) and it is context for the text's first
 * tokens; then the text is scored. CorpusScanner.add and the server's cases both score samples here.
 * Returns the text's token count.
 */
export function scoreSample(pk: PreparedKey, acc: Accumulator, text: string, prompt: string | undefined, opts: SampleScoring): number {
  let context: Uint32Array | undefined
  if (prompt !== undefined) {
    context = opts.tokenizer.encode(prepareText(prompt, opts.normalize))
    forEachTuple(pk, context, (w0, w1) => acc.excludeTuple(w0, w1))
  }
  const ids = opts.tokenizer.encode(prepareText(text, opts.normalize))
  scoreTokens(pk, ids, acc, { context, filter: opts.filter })
  return ids.length
}

export class CorpusScanner {
  readonly key: WatermarkKey
  readonly accumulator: Accumulator
  readonly tokenizer: Tokenizer
  private readonly pk: PreparedKey
  private readonly opts: CorpusOptions
  private texts = 0

  constructor(key: WatermarkKey, opts: CorpusOptions = {}) {
    this.key = key
    this.opts = opts
    this.pk = prepareKey(key)
    this.tokenizer = opts.tokenizer ?? getTokenizer(key.config.tokenizer)
    this.accumulator = new Accumulator(this.pk, { dedup: opts.dedup ?? true })
    for (const p of opts.prompts ?? []) this.excludePrompt(p)
  }

  /** Excludes every tuple of a prompt from the test (also removing any already scored). */
  excludePrompt(prompt: string): void {
    this.excludeTokens(this.tokenizer.encode(prepareText(prompt, this.opts.normalize)))
  }

  /** excludePrompt for a prompt already tokenized (and normalised as this scanner does). */
  excludeTokens(ids: ArrayLike<number>): void {
    forEachTuple(this.pk, ids, (w0, w1) => {
      this.accumulator.excludeTuple(w0, w1)
    })
  }

  /** Scores one text; its prompt, when given, is context for its first tokens and is excluded too (scoreSample). */
  add(text: string, opts: { prompt?: string } = {}): void {
    scoreSample(this.pk, this.accumulator, text, opts.prompt, { tokenizer: this.tokenizer, normalize: this.opts.normalize, filter: this.opts.filter })
    this.texts++
  }

  /** Scores pre-tokenized ids (with optional prompt ids as context). */
  addTokens(ids: ArrayLike<number>, context?: ArrayLike<number>): void {
    scoreTokens(this.pk, ids, this.accumulator, { context, filter: this.opts.filter })
    this.texts++
  }

  /** Adds another scanner's evidence (a shard of the same corpus and key). */
  merge(other: CorpusScanner): this {
    this.accumulator.merge(other.accumulator)
    this.texts += other.texts
    return this
  }

  result(): CorpusResult {
    return corpusResult(this.accumulator, { texts: this.texts, filter: this.opts.filter !== undefined, alpha: this.opts.alpha })
  }
}
