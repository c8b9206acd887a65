/**
 * Detection that explains a miss (docs/spec.md#diagnosis, issue 14 §4). A text its provider believes
 * watermarked that comes back "not detected" was most often scored under another configuration than
 * the one that generated it. `diagnose` scores the text under the key's own configuration and under
 * each plausible single mismatch — another tokenizer, normalisation flipped, another context width or
 * seeding rule (the same secret, a different configuration: WatermarkKey.withConfig), the prompt
 * ignored — and reports every row's exact test.
 *
 * H0: the text was written without knowledge of the key. Each row is an exact test under H0 (a
 * changed configuration derives independent sub-keys, keys.ts), so the smallest p over m rows,
 * multiplied by m (Bonferroni, valid under any dependence between the rows), is a valid p-value: the
 * verdict. m is every row tried, the key's own included, whatever their outcome.
 */
import type { WatermarkKey } from './keys.js'
import { DEFAULT_ALPHA } from './outcome.js'
import type { SchemeParams } from './schemes/types.js'
import { Scorer } from './scorer.js'
import type { SeedingRule } from './seeding.js'
import { bonferroniLog10, pFromLog10 } from './stats/pvalue.js'
import { getTokenizer, tokenizerNames } from './tokenizers/registry.js'
import type { Tokenizer } from './tokenizers/types.js'

/** Which part of the configuration a row changes ('none': the key's own configuration). */
export type Mismatch = 'none' | 'tokenizer' | 'normalization' | 'seeding' | 'prompt'

export interface DiagnoseOptions {
  text: string
  /** The prompt that produced the text: context for its first tokens (then "prompt ignored" is tried too). */
  prompt?: string
  key: WatermarkKey
  /** Tokenizers to try besides every built-in one (e.g. a Hugging Face tokenizer.json the model may use). */
  tokenizers?: readonly Tokenizer[]
  /** Context widths tried with the key's seeding rule (default 1–4, plus the key's own). */
  contexts?: readonly number[]
  /** Significance level of the verdict (default 1e-6). */
  alpha?: number
}

export interface DiagnosisRow {
  mismatch: Mismatch
  /** The configuration in words, e.g. "lefthash h=2" or "tokenizer cl100k_base". */
  label: string
  tokenizer: string
  normalize: boolean
  /** Seeding rule and width of the row's key (null for schemes without seeding, e.g. unigram). */
  seeding: SeedingRule | null
  context: number | null
  /** Whether the prompt was used as context. */
  prompt: boolean
  tokensTotal: number
  tokensScored: number
  /** The row's own exact p-value, uncorrected. */
  pValue: number
  log10P: number
}

export interface Diagnosis {
  /** Every configuration tried, the key's own first. */
  rows: DiagnosisRow[]
  /** Bonferroni factor: rows.length. */
  configurationsTried: number
  /** Index of the row with the smallest p-value (the earliest on ties). */
  best: number
  /** The best row's p-value times configurationsTried (capped at 1): the verdict. */
  pValue: number
  log10P: number
  alpha: number
  detected: boolean
  /** One sentence: which mismatch most likely explains the miss, or that none does. */
  explanation: string
}

interface Candidate {
  mismatch: Mismatch
  label: string
  key: WatermarkKey
  tokenizer: Tokenizer
  normalize: boolean
  prompt: boolean
}

const DEFAULT_CONTEXTS = [1, 2, 3, 4]

function seedingOf(params: SchemeParams): { rule: SeedingRule; context: number } | null {
  return typeof params.seeding === 'string' && typeof params.context === 'number' ? { rule: params.seeding as SeedingRule, context: params.context } : null
}

/** The configurations tried: the key's own, then one mismatch at a time (so the table stays readable and m small). */
function candidates(o: DiagnoseOptions): Candidate[] {
  const key = o.key
  const base: Candidate = { mismatch: 'none', label: "the key's configuration", key, tokenizer: keyTokenizer(key, o.tokenizers), normalize: true, prompt: o.prompt !== undefined }
  const out: Candidate[] = [base]
  const seen = new Set([base.tokenizer.name])
  for (const t of [...tokenizerNames().map(getTokenizer), ...(o.tokenizers ?? [])]) {
    if (seen.has(t.name)) continue
    seen.add(t.name)
    out.push({ ...base, mismatch: 'tokenizer', label: `tokenizer ${t.name}`, tokenizer: t })
  }
  out.push({ ...base, mismatch: 'normalization', label: 'normalisation off', normalize: false })
  const s = seedingOf(key.config.params)
  if (s) {
    // Widths with the key's rule, then the other rule (selfhash needs h ≥ 2; the key's width if it allows, else 4).
    const widths = [...new Set([...(o.contexts ?? DEFAULT_CONTEXTS)])].filter((h) => h !== s.context)
    const alts: { rule: SeedingRule; context: number }[] = widths.map((h) => ({ rule: s.rule, context: h }))
    const other: SeedingRule = s.rule === 'lefthash' ? 'selfhash' : 'lefthash'
    alts.push({ rule: other, context: other === 'selfhash' && s.context < 2 ? 4 : s.context })
    for (const a of alts) {
      if (a.rule === 'lefthash' ? a.context < 1 : a.context < 2) continue
      out.push({ ...base, mismatch: 'seeding', label: `${a.rule} h=${a.context}`, key: key.withConfig({ params: { ...key.config.params, seeding: a.rule, context: a.context } }) })
    }
  }
  if (o.prompt !== undefined) out.push({ ...base, mismatch: 'prompt', label: 'prompt ignored', prompt: false })
  return out
}

/** The key's tokenizer: a given one of the same name (a tokenizer.json key), else the built-in. */
function keyTokenizer(key: WatermarkKey, given: readonly Tokenizer[] | undefined): Tokenizer {
  return given?.find((t) => t.name === key.config.tokenizer) ?? getTokenizer(key.config.tokenizer)
}

function describe(c: Candidate, key: WatermarkKey): string {
  switch (c.mismatch) {
    case 'tokenizer':
      return `the text was generated with ${c.tokenizer.name}'s token ids, not the key's tokenizer ${key.config.tokenizer}`
    case 'normalization':
      return 'the generated text contains characters that normalisation changes (detect it with normalisation off)'
    case 'seeding':
      return `the generator seeded with ${c.label}, not the key's ${labelOf(key.config.params)} (it was built from another configuration than the key file)`
    case 'prompt':
      return 'the prompt given is not the context the text was generated after'
    case 'none':
      return ''
  }
}

function labelOf(params: SchemeParams): string {
  const s = seedingOf(params)
  return s ? `${s.rule} h=${s.context}` : 'seeding'
}

/** Scores `text` under the key's configuration and each single mismatch; the verdict is corrected for all of them. */
export function diagnose(o: DiagnoseOptions): Diagnosis {
  const alpha = o.alpha ?? DEFAULT_ALPHA
  const cands = candidates(o)
  const rows: DiagnosisRow[] = cands.map((c) => {
    const scorer = new Scorer(c.key, { tokenizer: c.tokenizer, normalize: c.normalize })
    scorer.add(o.text, c.prompt ? { prompt: o.prompt } : {})
    const r = scorer.outcome({ alpha })
    const s = seedingOf(c.key.config.params)
    return {
      mismatch: c.mismatch,
      label: c.label,
      tokenizer: c.tokenizer.name,
      normalize: c.normalize,
      seeding: s?.rule ?? null,
      context: s?.context ?? null,
      prompt: c.prompt,
      tokensTotal: r.tokensTotal,
      tokensScored: r.tokensScored,
      pValue: r.pValue,
      log10P: r.log10P,
    }
  })
  let best = 0
  for (let i = 1; i < rows.length; i++) if (rows[i].log10P < rows[best].log10P) best = i
  const m = rows.length
  const log10P = bonferroniLog10(rows[best].log10P, m)
  const detected = log10P <= Math.log10(alpha)
  let explanation: string
  if (!detected) explanation = `none of the ${m} configurations tried detects the text at alpha = ${alpha} after correction, so no mismatch tried explains the miss`
  else if (best === 0) explanation = `the key's own configuration detects the text (corrected for ${m} configurations): no mismatch to explain`
  else explanation = `most likely mismatch: ${describe(cands[best], o.key)}`
  return { rows, configurationsTried: m, best, pValue: pFromLog10(log10P), log10P, alpha, detected, explanation }
}
