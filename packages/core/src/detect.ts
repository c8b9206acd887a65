/**
 * Detection of a single text (or token ids) against one key or a key ring (docs/spec.md#detect).
 *
 * H0: the text was written without knowledge of any key in the ring. Per key the test is exact
 * (significance.ts); across a ring of m keys the reported p-value is the smallest one times m
 * (Bonferroni), so searching many keys does not inflate the false-positive rate. The windowed
 * search is corrected likewise (window.ts).
 */
import { TokenmarkError } from './errors.js'
import type { WatermarkKey } from './keys.js'
import type { NormalizeOptions } from './normalize.js'
import { DEFAULT_ALPHA, type Outcome } from './outcome.js'
import type { SchemeId, SchemeParams } from './schemes/types.js'
import { Scorer, type NormalizationLog, type ScoredText } from './scorer.js'
import { REASON_NAMES, SkipReason, type ReasonName, type TokenMarks } from './scoring.js'
import { testAccumulator, type TestResult } from './significance.js'
import { bonferroniLog10, pFromLog10 } from './stats/pvalue.js'
import type { Tokenizer } from './tokenizers/types.js'
import { mostSignificantWindow } from './window.js'

export { DEFAULT_ALPHA }

export interface DetectOptions {
  /** Text to test (tokenized with `tokenizer`, default the key's tokenizer). */
  text?: string
  /** Token ids to test instead of text. */
  tokens?: ArrayLike<number>
  /** The prompt that produced the text: context for its first tokens, its tuples never scored (as in the corpus test). */
  prompt?: string
  keys: WatermarkKey | readonly WatermarkKey[]
  tokenizer?: Tokenizer
  /** Unicode normalisation before tokenizing (default on). */
  normalize?: boolean | NormalizeOptions
  /** Also search for the most significant contiguous span (default off). */
  window?: boolean | { minTokens?: number }
  /** Score each (context, token) tuple once (default on; off makes the outcome not a valid test). */
  dedup?: boolean
  /** Significance level for `detected` (default 1e-6). */
  alpha?: number
  /** Return per-token marks. */
  marks?: boolean
}

export interface TokenMark {
  token: number
  /** UTF-16 offsets in the caller's text (before normalisation); absent when detecting token ids. */
  start?: number
  end?: number
  /** Observation (1/0 green bit, g-sum, or Gumbel score), or null when not scored. */
  value: number | null
  reason: ReasonName
}

export interface WindowReport {
  startToken: number
  endToken: number
  startChar?: number
  endChar?: number
  pValue: number
  log10P: number
  log10PUncorrected: number
  windowsExamined: number
  tokensScored: number
}

export interface KeyReport {
  keyId: string
  scheme: SchemeId
  pValue: number
  log10P: number
  zScore: number
  tokensScored: number
}

/**
 * With `window`, the verdict comes from both tests — the whole text and the best span — so it is
 * corrected for having two: p = min(1, 2 · min(p_text, p_span)) (Bonferroni), and `test` says which
 * one was smaller. `detected` is this p ≤ alpha.
 */
export interface Decision {
  test: 'text' | 'window'
  pValue: number
  log10P: number
}

/** The outcome of the text's test (keysTested keys searched) and what was tested. */
export interface DetectionResult extends Outcome {
  scheme: SchemeId
  params: SchemeParams
  keyId: string
  tokenizer: string
  normalization?: NormalizationLog
  keys?: KeyReport[]
  window?: WindowReport
  /** Present with `window`: the one verdict over both tests. */
  decision?: Decision
  marks?: TokenMark[]
}

interface PerKey {
  key: WatermarkKey
  scorer: Scorer
  marks: TokenMarks | undefined
  ids: ArrayLike<number>
  read?: ScoredText
  /** The scorer that read the text (this key's, or an earlier key's with the same tokenizer). */
  reader?: Scorer
}

export function detect(opts: DetectOptions): DetectionResult {
  const keys = Array.isArray(opts.keys) ? (opts.keys as readonly WatermarkKey[]) : [opts.keys as WatermarkKey]
  if (keys.length === 0) throw new TokenmarkError('E_BAD_INPUT', 'detect needs at least one key')
  if ((opts.text === undefined) === (opts.tokens === undefined)) throw new TokenmarkError('E_BAD_INPUT', 'give either text or tokens to detect')
  const alpha = opts.alpha ?? DEFAULT_ALPHA
  if (!(alpha > 0 && alpha < 1)) throw new TokenmarkError('E_BAD_PARAM', 'alpha must be in (0, 1)')
  const dedup = opts.dedup ?? true
  // Per-token observations are kept only when a window search or marks need them; offsets likewise.
  const wantMarks = Boolean(opts.window || opts.marks)

  // One Scorer per key; the text is normalised and tokenized once per distinct tokenizer in the ring (a
  // short list searched in order rather than two Maps: most calls have one key, and this runs per text).
  const reads: { tokenizer: string; read: ScoredText; reader: Scorer }[] = []
  const runs: PerKey[] = keys.map((key) => {
    const scorer = new Scorer(key, { tokenizer: opts.tokenizer, normalize: opts.normalize ?? true, dedup })
    const prompt = (): Uint32Array | undefined => (opts.prompt !== undefined ? scorer.excludePrompt(opts.prompt) : undefined)
    if (opts.tokens !== undefined) return { key, scorer, ids: opts.tokens, marks: scorer.addTokens(opts.tokens, prompt(), wantMarks) }
    const name = scorer.tokenizer.name
    const prior = reads.find((x) => x.tokenizer === name)
    if (prior !== undefined) return { key, scorer, ids: prior.read.ids, read: prior.read, reader: prior.reader, marks: scorer.addTokens(prior.read.ids, prompt(), wantMarks) }
    const r = scorer.add(opts.text as string, { prompt: opts.prompt, marks: wantMarks, offsets: wantMarks })
    reads.push({ tokenizer: name, read: r, reader: scorer })
    return { key, scorer, ids: r.ids, read: r, reader: scorer, marks: r.marks }
  })

  // Each key's exact tail test picks the best key; only that key's accumulator gets a full outcome
  // (e-value, tokensNeeded), once. The result is that fresh outcome object with the key's fields added
  // in place: spreading ~20 fields into a new literal and then adding more cost several µs per call,
  // about half of a short text's detection (issue 12, the server's per-request CPU).
  const tests = keys.length > 1 ? runs.map((r) => testAccumulator(r.scorer.accumulator)) : undefined
  let bestIdx = 0
  if (tests !== undefined) for (let i = 1; i < tests.length; i++) if (tests[i].log10P < tests[bestIdx].log10P) bestIdx = i
  const run = runs[bestIdx]
  const result: DetectionResult = Object.assign(run.scorer.outcome({ alpha, keysTested: keys.length }), {
    scheme: run.key.scheme,
    params: { ...run.key.config.params },
    keyId: run.key.keyId,
    tokenizer: opts.tokenizer?.name ?? run.key.config.tokenizer,
  })
  // What normalisation changed, from the scorer that read the text (keys sharing a tokenizer reuse its ids).
  if (run.reader !== undefined && opts.normalize !== false) result.normalization = run.reader.normalization()
  if (keys.length > 1) {
    const t = tests as TestResult[]
    result.keys = runs.map((r, i) => ({
      keyId: r.key.keyId,
      scheme: r.key.scheme,
      pValue: t[i].pValue,
      log10P: t[i].log10P,
      zScore: t[i].zScore,
      tokensScored: t[i].tokensScored,
    }))
  }

  // Token offsets in the caller's original text (through the normalisation map when one was applied).
  let offsets: Uint32Array | undefined
  const tokOffsets = (): Uint32Array | undefined => {
    const r = run.read
    if (offsets === undefined && r !== undefined) {
      offsets = run.scorer.tokenizer.offsets(r.text, r.ids)
      const toOriginal = r.originalOffsets
      if (toOriginal !== undefined) for (let i = 0; i < offsets.length; i++) offsets[i] = toOriginal[offsets[i]]
    }
    return offsets
  }

  if (opts.window) {
    const minTokens = typeof opts.window === 'object' ? opts.window.minTokens : undefined
    const scoredPos: number[] = []
    const values: number[] = []
    const m = run.marks as TokenMarks
    for (let i = 0; i < m.reasons.length; i++) {
      if (m.reasons[i] === SkipReason.Scored) {
        scoredPos.push(i)
        values.push(m.values[i])
      }
    }
    const w = mostSignificantWindow(values, run.scorer.accumulator.nullModel, minTokens)
    let decisive: Decision = { test: 'text', log10P: result.log10P, pValue: result.pValue }
    if (w) {
      const startToken = scoredPos[w.start]
      const endToken = scoredPos[w.end - 1] + 1
      const off = tokOffsets()
      // Bonferroni over keys as well as windows: the span is the best over both searches.
      const wl = bonferroniLog10(w.log10P, keys.length)
      result.window = {
        startToken,
        endToken,
        startChar: off?.[startToken],
        endChar: off?.[endToken],
        pValue: pFromLog10(wl),
        log10P: wl,
        log10PUncorrected: w.log10PUncorrected,
        windowsExamined: w.windowsExamined,
        tokensScored: w.end - w.start,
      }
      if (wl < result.log10P) decisive = { test: 'window', log10P: wl, pValue: 0 }
    }
    // Two tests looked at, one verdict: 2 × the smaller p (Bonferroni over the two).
    const dl = bonferroniLog10(decisive.log10P, 2)
    result.decision = { test: decisive.test, log10P: dl, pValue: pFromLog10(dl) }
    result.detected = result.valid && dl <= Math.log10(alpha)
  }

  if (opts.marks) {
    const off = tokOffsets()
    const m = run.marks as TokenMarks
    result.marks = Array.from(m.reasons, (reason, i) => ({
      token: run.ids[i],
      ...(off ? { start: off[i], end: off[i + 1] } : {}),
      value: reason === SkipReason.Scored ? m.values[i] : null,
      reason: REASON_NAMES[reason],
    }))
  }
  return result
}
