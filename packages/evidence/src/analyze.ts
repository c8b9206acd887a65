/**
 * The analysis an evidence bundle records (docs/evidence-format.md#analysis): a corpus of texts
 * scored with one key by core's CorpusScanner — de-duplicated across the whole corpus, prompt tuples
 * excluded, optionally restricted by an emission filter — plus what a reader needs to judge it: each
 * text scored on its own (the per-text distribution), the corpus test after each text (cumulative
 * evidence), and per-token marks for the strongest excerpts.
 *
 * It is a pure function of (key, texts, prompts, filter, options): verify() reruns it from the texts
 * a bundle holds and compares every number.
 */
import {
  CorpusScanner,
  DEFAULT_ALPHA,
  EmissionFilter,
  createAccumulator,
  forEachTuple,
  getTokenizer,
  normalizeText,
  prepareKey,
  scoreTokens,
  tailTest,
  testAccumulator,
  TupleSet,
  type Tokenizer,
  type WatermarkKey,
} from '@tokenmark/core'
import type { CumulativePoint, EvidenceBody, ExcerptRecord, InputRecord, NullModelRecord, PromptRecord } from './body.js'
import { EvidenceError } from './errors.js'
import { codePoints, sha256Hex } from './hash.js'

export interface CorpusText {
  text: string
  /** Label shown in the report and recorded in the bundle (file:line, sample id). */
  id?: string
  /** The prompt that produced the text: context for its first tokens, and its tuples are excluded. */
  prompt?: string
}

export interface AnalysisOptions {
  /** Score each (context, token) tuple once across the corpus (default true; off is recorded). */
  dedup?: boolean
  /** Unicode normalisation before tokenizing (default true). */
  normalize?: boolean
  /** Prompts whose tuples are excluded from scoring everywhere. */
  prompts?: readonly string[]
  /** The provider's emission filter: only tokens whose context it served are scored. */
  filter?: EmissionFilter
  filterDescription?: string
  /** Significance level of the verdict (default core's DEFAULT_ALPHA, 1e-6). */
  alpha?: number
  /** Tokenizer adapter (default: the key's tokenizer by name). */
  tokenizer?: Tokenizer
  /** How many of the strongest texts get per-token evidence (default 3). */
  excerpts?: number
  /** Tokens per excerpt at most (default 160). */
  excerptTokens?: number
  /** Points of the cumulative-evidence curve at most (default 200). */
  cumulativePoints?: number
}

/** Every part of a bundle body that comes from the analysis (the rest is case, signer, software). */
export type Analysis = Pick<EvidenceBody, 'key' | 'tokenizer' | 'method' | 'normalization' | 'inputs' | 'prompts' | 'filter' | 'statistics' | 'result' | 'cumulative' | 'excerpts'>

const nullMean = (m: NullModelRecord): number => (m.kind === 'binomial' ? m.p * m.trialsPerToken : 1)

/** Indices (0-based, increasing) of the texts after which the cumulative curve is sampled. */
function samplePoints(n: number, max: number): Set<number> {
  const out = new Set<number>()
  if (n === 0) return out
  if (n <= max) {
    for (let i = 0; i < n; i++) out.add(i)
    return out
  }
  for (let j = 1; j <= max; j++) out.add(Math.round((j * n) / max) - 1)
  return out
}

interface Candidate {
  input: number
  log10P: number
  ids: Uint32Array
  text: string
  values: Float64Array
  reasons: Uint8Array
}

export function analyzeCorpus(key: WatermarkKey, texts: readonly CorpusText[], opts: AnalysisOptions = {}): Analysis {
  if (texts.length === 0) throw new EvidenceError('E_BAD_INPUT', 'the corpus is empty; give at least one text')
  const dedup = opts.dedup ?? true
  const normalize = opts.normalize ?? true
  const alpha = opts.alpha ?? DEFAULT_ALPHA
  if (!(alpha > 0 && alpha < 1)) throw new EvidenceError('E_BAD_INPUT', 'alpha must be in (0, 1)')
  const nExcerpts = opts.excerpts ?? 3
  const excerptTokens = opts.excerptTokens ?? 160
  const tokenizer = opts.tokenizer ?? getTokenizer(key.config.tokenizer)
  const prompts = opts.prompts ?? []
  const pk = prepareKey(key)

  const applied = new Set<string>()
  const changes: Record<string, number> = {}
  const prepare = (text: string): string => {
    if (!normalize) return text
    const r = normalizeText(text)
    for (const a of r.applied) applied.add(a)
    for (const [k, v] of Object.entries(r.changes)) changes[k] = (changes[k] ?? 0) + v
    return r.text
  }

  // The corpus test is core's; per-text tests below mirror its exclusion set so both see the same tuples.
  const scanner = new CorpusScanner(key, { tokenizer, dedup, normalize, filter: opts.filter, alpha })
  const excluded = new TupleSet()
  // Each prompt is tokenized once, for the scanner's exclusions and the per-text ones alike.
  const exclude = (prompt: string): Uint32Array => {
    const ids = tokenizer.encode(prepare(prompt))
    forEachTuple(pk, ids, (w0, w1) => {
      excluded.add(w0, w1)
    })
    scanner.excludeTokens(ids)
    return ids
  }
  for (const p of prompts) exclude(p)

  const sampleAt = samplePoints(texts.length, opts.cumulativePoints ?? 200)
  const cumulative: CumulativePoint[] = []
  const items: InputRecord[] = []
  const best: Candidate[] = []
  texts.forEach((t, i) => {
    if (typeof t?.text !== 'string') throw new EvidenceError('E_BAD_INPUT', `corpus text ${i} has no text`)
    let context: Uint32Array | undefined
    if (t.prompt !== undefined) context = exclude(t.prompt)
    const norm = prepare(t.text)
    const ids = tokenizer.encode(norm)
    scanner.addTokens(ids, context)

    const acc = createAccumulator(key, { dedup })
    const marks = scoreTokens(pk, ids, acc, { context, exclude: excluded.size > 0 ? excluded : undefined, filter: opts.filter, marks: true })
    const test = testAccumulator(acc)
    items.push({
      id: t.id ?? String(i + 1),
      sha256: sha256Hex(t.text),
      chars: codePoints(t.text),
      text: t.text,
      ...(t.prompt !== undefined ? { promptSha256: sha256Hex(t.prompt), prompt: t.prompt } : {}),
      tokens: ids.length,
      tokensScored: acc.tokensScored,
      value: acc.sum,
      log10P: test.log10P,
      zScore: test.zScore,
    })
    if (marks && acc.tokensScored > 0 && nExcerpts > 0) {
      const worst = best.length < nExcerpts ? undefined : best[best.length - 1]
      if (worst === undefined || test.log10P < worst.log10P) {
        if (worst !== undefined) best.pop()
        best.push({ input: i, log10P: test.log10P, ids, text: norm, values: marks.values, reasons: marks.reasons })
        best.sort((a, b) => a.log10P - b.log10P || a.input - b.input)
      }
    }
    if (sampleAt.has(i)) {
      const c = testAccumulator(scanner.accumulator)
      cumulative.push({ texts: i + 1, tokensScored: c.tokensScored, log10P: c.log10P })
    }
  })

  const r = scanner.result()
  const acc = scanner.accumulator
  const model: NullModelRecord = acc.nullModel.kind === 'binomial' ? { kind: 'binomial', p: acc.nullModel.p, trialsPerToken: acc.nullModel.trialsPerToken } : { kind: 'gamma' }
  const excerpts = best.map((c) => excerptOf(c, tokenizer, model, excerptTokens))
  const promptItems: PromptRecord[] = prompts.map((p) => ({ sha256: sha256Hex(p), chars: codePoints(p), text: p }))
  const filter = opts.filter
  return {
    key: { keyId: key.keyId, commitment: key.commitment, scheme: key.scheme, params: { ...key.config.params }, tokenizer: key.config.tokenizer },
    tokenizer: { name: tokenizer.name, version: tokenizer.version },
    method: { dedup, normalize, statistic: acc.statistic, nullModel: model, alpha, keysTested: 1, excerpts: nExcerpts, excerptTokens },
    normalization: { applied: [...applied].sort(), changes: Object.fromEntries(Object.entries(changes).sort(([a], [b]) => (a < b ? -1 : 1))) },
    inputs: { included: true, items },
    prompts: { included: true, items: promptItems },
    filter: filter
      ? { sha256: sha256Hex(filter.toBytes()), bytes: filter.toBytes(), contexts: filter.added, falsePositiveRate: filter.falsePositiveRate, description: opts.filterDescription ?? 'emission filter' }
      : null,
    statistics: {
      tokensSeen: acc.tokensTotal,
      tokensScored: acc.tokensScored,
      value: acc.sum,
      noContext: acc.skipped.noContext,
      duplicate: acc.skipped.duplicate,
      excluded: acc.skipped.excluded,
      filtered: acc.skipped.filtered,
    },
    result: { detected: r.detected, pValue: r.pValue, log10P: r.log10P, zScore: r.zScore, log10E: r.log10E, tokensNeeded: r.tokensNeeded },
    cumulative,
    excerpts,
  }
}

/** The span of at most `maxTokens` tokens with the largest excess over the null mean, with its marks. */
function excerptOf(c: Candidate, tokenizer: Tokenizer, model: NullModelRecord, maxTokens: number): ExcerptRecord {
  const n = c.ids.length
  const mu = nullMean(model)
  const excess = (i: number) => (c.reasons[i] === 0 ? c.values[i] - mu : 0)
  let start = 0
  const len = Math.min(n, maxTokens)
  if (n > len) {
    let sum = 0
    for (let i = 0; i < len; i++) sum += excess(i)
    let bestSum = sum
    for (let s = 1; s + len <= n; s++) {
      sum += excess(s + len - 1) - excess(s - 1)
      if (sum > bestSum + 1e-12) {
        bestSum = sum
        start = s
      }
    }
  }
  const offsets = tokenizer.offsets(c.text, c.ids)
  const tokens: number[] = []
  const pieces: string[] = []
  const values: (number | null)[] = []
  const reasons: number[] = []
  let count = 0
  let value = 0
  for (let i = start; i < start + len; i++) {
    tokens.push(c.ids[i])
    pieces.push(c.text.slice(offsets[i], offsets[i + 1]))
    const scored = c.reasons[i] === 0
    values.push(scored ? c.values[i] : null)
    reasons.push(c.reasons[i])
    if (scored) {
      count++
      value += c.values[i]
    }
  }
  return { input: c.input, startToken: start, tokens, pieces, values, reasons, log10P: tailTest(model, count, value).log10P }
}
