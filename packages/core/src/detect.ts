/**
 * Detection of a single text (or token ids) against one key or a key ring (docs/spec.md#detect).
 *
 * H0: the text was written without knowledge of any key in the ring. Per key the test is exact
 * (significance.ts); across a ring of m keys the reported p-value is the smallest one times m
 * (Bonferroni), so searching many keys does not inflate the false-positive rate. The windowed
 * search is corrected likewise (window.ts).
 */
import type { Accumulator } from './accumulate.js'
import { TokenmarkError } from './errors.js'
import type { WatermarkKey } from './keys.js'
import { normalizeText, normalizeWithMap, type NormalizeOptions, type NormalizeResult } from './normalize.js'
import type { SchemeId, SchemeParams, StatisticName } from './schemes/types.js'
import { createAccumulator, prepareKey, scoreTokens, SkipReason, type TokenMarks } from './scoring.js'
import { testAccumulator } from './significance.js'
import { bonferroniLog10, pFromLog10 } from './stats/pvalue.js'
import { getTokenizer } from './tokenizers/registry.js'
import type { Tokenizer } from './tokenizers/types.js'
import { mostSignificantWindow } from './window.js'

export const DEFAULT_ALPHA = 1e-6

export interface DetectOptions {
  /** Text to test (tokenized with `tokenizer`, default the key's tokenizer). */
  text?: string
  /** Token ids to test instead of text. */
  tokens?: ArrayLike<number>
  keys: WatermarkKey | readonly WatermarkKey[]
  tokenizer?: Tokenizer
  /** Unicode normalisation before tokenizing (default on). */
  normalize?: boolean | NormalizeOptions
  /** Also search for the most significant contiguous span (default off). */
  window?: boolean | { minTokens?: number }
  /** Score each (context, token) tuple once (default on; turning it off is reported). */
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
  reason: 'scored' | 'no-context' | 'duplicate' | 'excluded' | 'filtered'
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

export interface DetectionResult {
  detected: boolean
  alpha: number
  /** Valid p-value (corrected for the key ring when it holds more than one key). */
  pValue: number
  log10P: number
  zScore: number
  scheme: SchemeId
  params: SchemeParams
  keyId: string
  tokenizer: string
  tokensTotal: number
  tokensScored: number
  tokensSkipped: { total: number; noContext: number; duplicate: number; excluded: number; filtered: number }
  dedup: boolean
  statistic: StatisticName
  greenCount?: number
  gSum?: number
  layers?: number
  scoreSum?: number
  normalization?: { applied: string[]; changes: Record<string, number> }
  /** Number of keys searched; pValue is corrected for it. */
  keysTested: number
  keys?: KeyReport[]
  window?: WindowReport
  marks?: TokenMark[]
}

const REASONS: TokenMark['reason'][] = ['scored', 'no-context', 'duplicate', 'excluded', 'filtered']

interface PerKey {
  key: WatermarkKey
  acc: Accumulator
  marks: TokenMarks | undefined
  ids: ArrayLike<number>
  text?: string
  tokenizer: string
}

export function detect(opts: DetectOptions): DetectionResult {
  const keys = Array.isArray(opts.keys) ? (opts.keys as readonly WatermarkKey[]) : [opts.keys as WatermarkKey]
  if (keys.length === 0) throw new TokenmarkError('E_BAD_INPUT', 'detect needs at least one key')
  if ((opts.text === undefined) === (opts.tokens === undefined)) throw new TokenmarkError('E_BAD_INPUT', 'give either text or tokens to detect')
  const alpha = opts.alpha ?? DEFAULT_ALPHA
  if (!(alpha > 0 && alpha < 1)) throw new TokenmarkError('E_BAD_PARAM', 'alpha must be in (0, 1)')
  const dedup = opts.dedup ?? true

  let norm: NormalizeResult | undefined
  // Offsets of the normalised text in the caller's text, kept when spans or marks will report offsets.
  let toOriginal: Uint32Array | undefined
  let text = opts.text
  if (text !== undefined && opts.normalize !== false) {
    const nopts = typeof opts.normalize === 'object' ? opts.normalize : undefined
    if (opts.window || opts.marks) {
      const m = normalizeWithMap(text, nopts)
      norm = m
      toOriginal = m.originalOffsets
    } else norm = normalizeText(text, nopts)
    text = norm.text
  }
  // Tokenize once per distinct tokenizer in the ring.
  const encoded = new Map<string, ArrayLike<number>>()
  const runs: PerKey[] = keys.map((key) => {
    const tk = opts.tokenizer ?? (text !== undefined ? getTokenizer(key.config.tokenizer) : undefined)
    const tkName = tk?.name ?? key.config.tokenizer
    let ids = opts.tokens
    if (ids === undefined) {
      ids = encoded.get(tkName)
      if (ids === undefined) {
        ids = (tk as Tokenizer).encode(text as string)
        encoded.set(tkName, ids)
      }
    }
    const acc = createAccumulator(key, { dedup })
    // Per-token observations are kept only when a window search or marks need them.
    const marks = scoreTokens(prepareKey(key), ids, acc, { marks: Boolean(opts.window || opts.marks) })
    return { key, acc, marks, ids, text, tokenizer: tkName }
  })

  const tests = runs.map((r) => ({ run: r, t: testAccumulator(r.acc) }))
  let bestIdx = 0
  for (let i = 1; i < tests.length; i++) if (tests[i].t.log10P < tests[bestIdx].t.log10P) bestIdx = i
  const { run, t } = tests[bestIdx]
  const log10P = bonferroniLog10(t.log10P, keys.length)
  const acc = run.acc
  const params = run.key.config.params
  const result: DetectionResult = {
    detected: log10P <= Math.log10(alpha),
    alpha,
    pValue: pFromLog10(log10P),
    log10P,
    zScore: t.zScore,
    scheme: run.key.scheme,
    params: { ...params },
    keyId: run.key.keyId,
    tokenizer: run.tokenizer,
    tokensTotal: acc.tokensTotal,
    tokensScored: acc.tokensScored,
    tokensSkipped: { total: acc.tokensTotal - acc.tokensScored, ...acc.skipped },
    dedup,
    statistic: acc.statistic,
    keysTested: keys.length,
  }
  result[acc.statistic] = acc.sum
  if (acc.statistic === 'gSum') result.layers = params.layers as number
  if (norm) result.normalization = { applied: norm.applied, changes: { ...norm.changes } }
  if (keys.length > 1) {
    result.keys = tests.map(({ run: r, t: tt }) => ({
      keyId: r.key.keyId,
      scheme: r.key.scheme,
      pValue: tt.pValue,
      log10P: tt.log10P,
      zScore: tt.zScore,
      tokensScored: tt.tokensScored,
    }))
  }

  // Token offsets in the caller's original text (through the normalisation map when one was applied).
  let offsets: Uint32Array | undefined
  const tokOffsets = (): Uint32Array | undefined => {
    if (offsets === undefined && run.text !== undefined) {
      const tk = opts.tokenizer ?? getTokenizer(run.tokenizer)
      offsets = tk.offsets(run.text, run.ids as Uint32Array)
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
    const w = mostSignificantWindow(values, acc.nullModel, minTokens)
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
    }
  }

  if (opts.marks) {
    const off = tokOffsets()
    const m = run.marks as TokenMarks
    result.marks = Array.from(m.reasons, (reason, i) => ({
      token: run.ids[i],
      ...(off ? { start: off[i], end: off[i + 1] } : {}),
      value: reason === SkipReason.Scored ? m.values[i] : null,
      reason: REASONS[reason],
    }))
  }
  return result
}
