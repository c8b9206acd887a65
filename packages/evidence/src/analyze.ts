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
import { DEFAULT_ALPHA, type CorpusDigest, EmissionFilter, loneSurrogateAt, normalizeText, Scorer, tailTest, testAccumulator, type Outcome, type Tokenizer, type WatermarkKey } from '@tokenmark/core'
import type { CumulativePoint, EvidenceBody, ExcerptRecord, InputRecord, NullModelRecord, PromptRecord, Provenance } from './body.js'
import { EvidenceError } from './errors.js'
import { codePoints, sha256Hex } from './hash.js'

export interface CorpusText {
  text: string
  /** Label shown in the report and recorded in the bundle (file:line, sample id). */
  id?: string
  /** The prompt that produced the text: context for its first tokens, and its tuples are excluded. */
  prompt?: string
  /** Where the text came from (probe: endpoint, model, request id, time, sample id; server: source fields). */
  provenance?: Provenance
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
  /**
   * Receives the token ids of the prompts and texts as they are scored (core scan-identity.ts), so a caller
   * can compare the corpus a sharded scan's parts name with these texts without tokenizing twice.
   */
  corpusDigest?: CorpusDigest
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

/** Rejects a string that evidence cannot hold byte for byte (a lone surrogate has no UTF-8 form). */
function checkText(what: string, s: string): void {
  const at = loneSurrogateAt(s)
  if (at >= 0) throw new EvidenceError('E_BAD_INPUT', `${what} is not well-formed Unicode (a lone surrogate at UTF-16 offset ${at}); evidence keeps texts byte for byte and cannot hold it`)
}

/**
 * The bundle's v1 wire names for an outcome's counts and result: the one mapping between core's
 * Outcome and the body (docs/evidence-format.md#statistics).
 */
export function outcomeRecord(o: Outcome): Pick<EvidenceBody, 'statistics' | 'result'> {
  const s = o.tokensSkipped
  return {
    statistics: { tokensSeen: o.tokensTotal, tokensScored: o.tokensScored, value: o.value, noContext: s.noContext, duplicate: s.duplicate, excluded: s.excluded, filtered: s.filtered },
    result: { valid: o.valid, detected: o.detected, pValue: o.pValue, log10P: o.log10P, zScore: o.zScore, log10E: o.log10E, tokensNeeded: o.tokensNeeded, warnings: o.warnings },
  }
}

/**
 * The analysis as a fold with core's Scorer: each text is scored once, in a fork of the corpus scorer
 * (its per-text test, with the corpus's exclusions), and the fork is merged into the corpus scorer
 * (the corpus test, de-duplicated across texts) — merge equals scoring the text there directly.
 */
export function analyzeCorpus(key: WatermarkKey, texts: readonly CorpusText[], opts: AnalysisOptions = {}): Analysis {
  if (texts.length === 0) throw new EvidenceError('E_BAD_INPUT', 'the corpus is empty; give at least one text')
  const dedup = opts.dedup ?? true
  const normalize = opts.normalize ?? true
  const alpha = opts.alpha ?? DEFAULT_ALPHA
  if (!(alpha > 0 && alpha < 1)) throw new EvidenceError('E_BAD_INPUT', 'alpha must be in (0, 1)')
  const nExcerpts = opts.excerpts ?? 3
  const excerptTokens = opts.excerptTokens ?? 160
  const prompts = opts.prompts ?? []
  prompts.forEach((p, i) => checkText(`prompt ${i + 1}`, p))

  const corpus = new Scorer(key, { tokenizer: opts.tokenizer, dedup, normalize, filter: opts.filter, prompts })
  const tokenizer = corpus.tokenizer
  // As the scorer read them (Scorer.prepare), without logging their normalisation a second time.
  for (const p of opts.corpusDigest ? prompts : []) opts.corpusDigest?.addPrompt(tokenizer.encode(normalize ? normalizeText(p).text : p))
  const sampleAt = samplePoints(texts.length, opts.cumulativePoints ?? 200)
  const cumulative: CumulativePoint[] = []
  const items: InputRecord[] = []
  const best: Candidate[] = []
  texts.forEach((t, i) => {
    if (typeof t?.text !== 'string') throw new EvidenceError('E_BAD_INPUT', `corpus text ${i} has no text`)
    checkText(`corpus text ${i + 1}`, t.text)
    if (t.prompt !== undefined) checkText(`the prompt of corpus text ${i + 1}`, t.prompt)
    const context = t.prompt !== undefined ? corpus.excludePrompt(t.prompt) : undefined
    const view = corpus.fork()
    const norm = view.prepare(t.text)
    const ids = tokenizer.encode(norm)
    opts.corpusDigest?.addText(i, ids, context)
    const marks = view.addTokens(ids, context, nExcerpts > 0)
    const acc = view.accumulator
    const test = testAccumulator(acc)
    corpus.merge(view)
    items.push({
      id: t.id ?? String(i + 1),
      sha256: sha256Hex(t.text),
      chars: codePoints(t.text),
      text: t.text,
      ...(t.prompt !== undefined ? { promptSha256: sha256Hex(t.prompt), prompt: t.prompt } : {}),
      ...(t.provenance !== undefined ? { provenance: t.provenance } : {}),
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
      const c = testAccumulator(corpus.accumulator)
      cumulative.push({ texts: i + 1, tokensScored: c.tokensScored, log10P: c.log10P })
    }
  })

  const acc = corpus.accumulator
  const model: NullModelRecord = acc.nullModel.kind === 'binomial' ? { kind: 'binomial', p: acc.nullModel.p, trialsPerToken: acc.nullModel.trialsPerToken } : { kind: 'gamma' }
  const excerpts = best.map((c) => excerptOf(c, tokenizer, model, excerptTokens))
  const promptItems: PromptRecord[] = prompts.map((p) => ({ sha256: sha256Hex(p), chars: codePoints(p), text: p }))
  const filter = opts.filter
  return {
    key: { keyId: key.keyId, commitment: key.commitment, scheme: key.scheme, params: { ...key.config.params }, tokenizer: key.config.tokenizer },
    tokenizer: { name: tokenizer.name, version: tokenizer.version },
    method: { dedup, normalize, statistic: acc.statistic, nullModel: model, alpha, keysTested: 1, excerpts: nExcerpts, excerptTokens },
    normalization: corpus.normalization(),
    inputs: { included: true, items },
    prompts: { included: true, items: promptItems },
    filter: filter
      ? { sha256: sha256Hex(filter.toBytes()), bytes: filter.toBytes(), contexts: filter.added, falsePositiveRate: filter.falsePositiveRate, description: opts.filterDescription ?? 'emission filter' }
      : null,
    ...outcomeRecord(corpus.outcome({ alpha })),
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
