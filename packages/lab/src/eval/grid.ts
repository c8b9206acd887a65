/**
 * The evaluation grid (issue 3 §3): schemes × attacks × lengths on the reference model.
 * For each scheme, `texts` prompts are answered twice by the same model — watermarked (the scheme's
 * sampler, top-k 50) and unwatermarked (core's plain sampler, top-k 50) — and both sets go through every
 * attack at every length: the length-L prefix is attacked, then scored with its prompt as context
 * (text-level attacks: the attacked text is normalised and re-tokenized, as a detector would). Positives
 * are the watermarked texts, negatives the unwatermarked ones, so AUC and observed FPR compare like
 * with like. Quality: perplexity under a model trained on `heldout` (disjoint from the generator's
 * `train` split) and distinct-n of the unattacked texts.
 */
import {
  createAccumulator,
  keyFromSecret,
  normalizeText,
  plainSampler,
  prepareKey,
  scoreTokens,
  seededRng,
  SkipReason,
  tailTest,
  watermarkSampler,
  type KeyConfigInput,
  type Tokenizer,
  type WatermarkKey,
} from '@tokenmark/core'
import { attacks, type AttackName } from '../attacks/registry.js'
import { prompts as allPrompts } from '../corpus.js'
import { LabError } from '../errors.js'
import { generateIds } from '../generate.js'
import type { LanguageModel } from '../ngram.js'
import { encodeCorpus } from '../reference.js'
import { subSeed } from '../rng.js'
import { auc, detectionLength, distinctN, median, rateBelow } from './metrics.js'

export interface AttackSetting {
  name: AttackName
  strength: number
}

export interface EvalOptions {
  /** Key configurations to evaluate (default: every scheme with its default parameters). */
  schemes?: KeyConfigInput[]
  attacks?: AttackSetting[]
  /** Text lengths in tokens (default 25, 50, 100, 200). */
  lengths?: number[]
  /** Texts per scheme (default 40). */
  texts?: number
  /** Top-k of both samplers (default 50). */
  topK?: number
  /** Threshold of the size metric (default 0.02, MarkMyWords' choice). */
  sizeAlpha?: number
  seed?: number
}

export const DEFAULT_ATTACKS: readonly AttackSetting[] = [
  { name: 'none', strength: 0 },
  { name: 'delete', strength: 0.1 },
  { name: 'insert', strength: 0.1 },
  { name: 'substitute', strength: 0.2 },
  { name: 'swap', strength: 0.2 },
  { name: 'resample', strength: 0.3 },
  { name: 'copy-paste', strength: 0.5 },
  { name: 'homoglyph', strength: 0.2 },
  { name: 'zero-width', strength: 0.2 },
  { name: 'case', strength: 0.3 },
  { name: 'whitespace', strength: 0.3 },
]

export const FPRS = [1e-2, 1e-4, 1e-6] as const

export interface EvalCell {
  scheme: string
  params: Record<string, unknown>
  attack: AttackName
  strength: number
  length: number
  /** TPR at FPR 1e-2, 1e-4, 1e-6 (p ≤ threshold). */
  tpr: [number, number, number]
  /** Observed FPR of the unwatermarked texts at 1e-2. */
  fpr: number
  auc: number
  medianLog10P: number
  /** Median tokens scored per watermarked text. */
  medianScored: number
}

export interface SizeRow {
  scheme: string
  attack: AttackName
  strength: number
  /** Median detection length (tokens) at sizeAlpha over the longest texts; Infinity = not detected. */
  size: number
}

export interface QualityRow {
  scheme: string
  perplexityWatermarked: number
  perplexityPlain: number
  distinct2Watermarked: number
  distinct2Plain: number
  distinct3Watermarked: number
  distinct3Plain: number
  /** Share of texts that loop: a text's own distinct-3 below 50 % (Gumbel without the repeated-context rule, spec.md#repeated-contexts). */
  loopingWatermarked: number
  loopingPlain: number
}

/** Share of texts whose own distinct-3 is below ½, i.e. texts stuck in a loop. */
function loopingShare(texts: readonly Uint32Array[]): number {
  let n = 0
  for (const t of texts) if (distinctN([t], 3) < 0.5) n++
  return texts.length === 0 ? NaN : n / texts.length
}

export interface EvalResult {
  config: { lengths: number[]; texts: number; topK: number; sizeAlpha: number; seed: number; attacks: AttackSetting[]; tokenizer: string }
  cells: EvalCell[]
  size: SizeRow[]
  quality: QualityRow[]
}

/** log10 p after each token of `ids` (prefix p-values), and the final one. */
function prefixLog10P(key: WatermarkKey, ids: Uint32Array, context: Uint32Array): { prefix: number[]; final: number; scored: number } {
  const pk = prepareKey(key)
  const acc = createAccumulator(key)
  const marks = scoreTokens(pk, ids, acc, { context, marks: true })
  const prefix: number[] = []
  let n = 0
  let sum = 0
  if (marks !== undefined) {
    for (let i = 0; i < ids.length; i++) {
      if (marks.reasons[i] === SkipReason.Scored) {
        n++
        sum += marks.values[i]
      }
      prefix.push(tailTest(pk.scheme.nullModel, n, sum).log10P)
    }
  }
  return { prefix, final: prefix.length > 0 ? prefix[prefix.length - 1] : 0, scored: n }
}

/** A deterministic key per configuration for the grid (simulation only). */
function gridKey(config: KeyConfigInput, seed: number): WatermarkKey {
  const rng = seededRng(subSeed(seed, `eval/key/${JSON.stringify(config)}`))
  const secret = new Uint8Array(32)
  const dv = new DataView(secret.buffer)
  for (let i = 0; i < 32; i += 4) dv.setUint32(i, rng.nextU32(), true)
  return keyFromSecret(secret, config)
}

/** What the quality column needs: exp(mean NLL per token) over sequences that each start fresh. */
export interface PerplexityModel {
  perplexity(ids: readonly Uint32Array[]): number
}

/**
 * `model` generates and serves the model-based attacks (the n-gram reference or the NeuralModel);
 * `heldoutModel` measures quality (an n-gram model on `heldout`, or the neural model itself).
 */
export function runEvalGrid(model: LanguageModel, tokenizer: Tokenizer, heldoutModel: PerplexityModel, options: EvalOptions = {}): EvalResult {
  const schemes = options.schemes ?? [{ scheme: 'kgw' }, { scheme: 'gumbel' }, { scheme: 'synthid' }, { scheme: 'unigram' }]
  const attackList = options.attacks ?? [...DEFAULT_ATTACKS]
  const lengths = [...(options.lengths ?? [25, 50, 100, 200])].sort((a, b) => a - b)
  const texts = options.texts ?? 40
  const topK = options.topK ?? 50
  const sizeAlpha = options.sizeAlpha ?? 0.02
  const seed = options.seed ?? 1
  if (lengths.length === 0 || texts < 1) throw new LabError('E_BAD_PARAM', 'the grid needs at least one length and one text')
  for (const a of attackList) if (!(a.name in attacks)) throw new LabError('E_BAD_PARAM', `unknown attack ${String(a.name)}`)
  const maxLen = lengths[lengths.length - 1]
  const ps = allPrompts()
  const human = encodeCorpus(tokenizer, 'heldout')[0]
  const cells: EvalCell[] = []
  const size: SizeRow[] = []
  const quality: QualityRow[] = []
  for (const config of schemes) {
    const key = gridKey(config, seed)
    const pos: { prompt: Uint32Array; ids: Uint32Array }[] = []
    const neg: { prompt: Uint32Array; ids: Uint32Array }[] = []
    for (let i = 0; i < texts; i++) {
      const prompt = tokenizer.encode(ps[(i * 7) % ps.length])
      const s = subSeed(seed, `eval/text/${i}`)
      const w = generateIds(model, prompt, { maxTokens: maxLen, topK, sampler: watermarkSampler(key, { topK }, seededRng(s)) })
      const p = generateIds(model, prompt, { maxTokens: maxLen, topK, sampler: plainSampler({ topK }, seededRng(subSeed(s, 'plain'))) })
      pos.push({ prompt, ids: w.ids })
      neg.push({ prompt, ids: p.ids })
    }
    quality.push({
      scheme: key.scheme,
      perplexityWatermarked: heldoutModel.perplexity(pos.map((x) => x.ids)),
      perplexityPlain: heldoutModel.perplexity(neg.map((x) => x.ids)),
      distinct2Watermarked: distinctN(pos.map((x) => x.ids), 2),
      distinct2Plain: distinctN(neg.map((x) => x.ids), 2),
      distinct3Watermarked: distinctN(pos.map((x) => x.ids), 3),
      distinct3Plain: distinctN(neg.map((x) => x.ids), 3),
      loopingWatermarked: loopingShare(pos.map((x) => x.ids)),
      loopingPlain: loopingShare(neg.map((x) => x.ids)),
    })
    for (const a of attackList) {
      const attack = attacks[a.name]
      const run = (x: { prompt: Uint32Array; ids: Uint32Array }, L: number, i: number) => {
        const res = attack.apply(x.ids.subarray(0, L), { strength: a.strength, seed: subSeed(seed, `eval/attack/${a.name}/${i}`) }, { model, tokenizer, human, prefix: x.prompt })
        const ids = attack.level === 'text' ? tokenizer.encode(normalizeText(res.text).text) : res.ids
        return prefixLog10P(key, ids, x.prompt)
      }
      for (const L of lengths) {
        const posR = pos.map((x, i) => run(x, L, i))
        const negR = neg.map((x, i) => run(x, L, i))
        const posP = posR.map((r) => r.final)
        const negP = negR.map((r) => r.final)
        cells.push({
          scheme: key.scheme,
          params: { ...key.config.params },
          attack: a.name,
          strength: a.strength,
          length: L,
          tpr: [rateBelow(posP, FPRS[0]), rateBelow(posP, FPRS[1]), rateBelow(posP, FPRS[2])],
          fpr: rateBelow(negP, FPRS[0]),
          auc: auc(posP, negP),
          medianLog10P: median(posP),
          medianScored: median(posR.map((r) => r.scored)),
        })
        if (L === maxLen) size.push({ scheme: key.scheme, attack: a.name, strength: a.strength, size: median(posR.map((r) => detectionLength(r.prefix, sizeAlpha))) })
      }
    }
  }
  return { config: { lengths, texts, topK, sizeAlpha, seed, attacks: attackList, tokenizer: tokenizer.name }, cells, size, quality }
}

const pct = (x: number) => (Number.isNaN(x) ? '—' : `${(100 * x).toFixed(0)} %`)

/** Markdown tables: detection per scheme × attack × length, size, quality. */
export function evalMarkdown(r: EvalResult, options: { quality?: string } = {}): string {
  const out: string[] = []
  out.push('| scheme | attack (strength) | tokens | TPR @ 1e-2 | TPR @ 1e-4 | TPR @ 1e-6 | FPR @ 1e-2 (observed) | AUC | median log10 p |')
  out.push('|---|---|---|---|---|---|---|---|---|')
  for (const c of r.cells) {
    out.push(`| ${c.scheme} | ${c.attack}${c.strength > 0 ? ` (${c.strength})` : ''} | ${c.length} | ${pct(c.tpr[0])} | ${pct(c.tpr[1])} | ${pct(c.tpr[2])} | ${pct(c.fpr)} | ${c.auc.toFixed(3)} | ${c.medianLog10P.toFixed(1)} |`)
  }
  out.push('', `Size (MarkMyWords): median tokens after which p stays below ${r.config.sizeAlpha}, over ${r.config.texts} texts of ${r.config.lengths[r.config.lengths.length - 1]} tokens (∞: most never detected).`, '')
  const schemes = [...new Set(r.size.map((s) => s.scheme))]
  const atk = [...new Set(r.size.map((s) => `${s.attack}${s.strength > 0 ? ` (${s.strength})` : ''}`))]
  out.push(`| attack | ${schemes.join(' | ')} |`, `|---|${schemes.map(() => '---').join('|')}|`)
  for (const a of atk) {
    const cellsFor = schemes.map((s) => {
      const row = r.size.find((x) => x.scheme === s && `${x.attack}${x.strength > 0 ? ` (${x.strength})` : ''}` === a)
      return row === undefined ? '' : Number.isFinite(row.size) ? String(row.size) : '∞'
    })
    out.push(`| ${a} | ${cellsFor.join(' | ')} |`)
  }
  const quality = options.quality ?? "perplexity under an order-4 model trained on the `heldout` split (disjoint from the generator's `train`)"
  out.push('', `Quality of the unattacked texts: ${quality}, distinct-n over all texts of a scheme, and the share of texts that loop (their own distinct-3 below 50 %).`, '')
  out.push('| scheme | perplexity, watermarked | perplexity, unwatermarked | distinct-2 wm / plain | distinct-3 wm / plain | looping texts wm / plain |', '|---|---|---|---|---|---|')
  for (const q of r.quality) {
    out.push(`| ${q.scheme} | ${q.perplexityWatermarked.toFixed(1)} | ${q.perplexityPlain.toFixed(1)} | ${q.distinct2Watermarked.toFixed(3)} / ${q.distinct2Plain.toFixed(3)} | ${q.distinct3Watermarked.toFixed(3)} / ${q.distinct3Plain.toFixed(3)} | ${pct(q.loopingWatermarked)} / ${pct(q.loopingPlain)} |`)
  }
  return out.join('\n') + '\n'
}
