/**
 * The content of an attribution report, built from a bundle: one model that the HTML, Markdown and
 * JSON renderings all print, so the three can never say different things. The reader is a lawyer;
 * the checker is an opposing expert: every sentence is plain, and every number names where it comes from.
 */
import { getScheme, toHex } from '@tokenmark/core'
import { REASON_NAMES, type EvidenceBody, type NullModelRecord } from '../body.js'
import type { VerifyResult } from '../verify.js'
import { attributionModel, type AttributionModel } from './attribution.js'
import { int, oneIn, pct, pow10E, pow10Text } from './numbers.js'

export interface HeatToken {
  text: string
  /** Observation, or null when not scored. */
  value: number | null
  reason: (typeof REASON_NAMES)[number]
  /** Position on the colour scale: 0 = against the watermark, 1 = for it; null when not scored. */
  u: number | null
}

export interface ReportModel {
  title: string
  caseDescription: string
  created: string
  /** `valid` false: the analysis is not a valid test (de-duplication off) and makes no claim; `warnings` say why. */
  verdict: { valid: boolean; detected: boolean; sentence: string; means: string[]; doesNotMean: string[]; warnings: string[] }
  numbers: {
    pValue: string
    pValueE: string
    log10P: number
    oneIn: string
    eValue: string
    log10E: number
    alpha: string
    /** When the significance level was set, and by whom: the tool knows the sealing, not what was decided before. */
    alphaSet: string
    zScore: number
    texts: number
    /** Texts whose own test (de-duplicated within the text) reaches the significance level. */
    significantAlone: number
    tokensSeen: number
    tokensScored: number
    statistic: string
    tokensNeeded: number | null
  }
  method: { paragraphs: string[]; citations: string[] }
  cumulative: { points: { texts: number; tokensScored: number; log10P: number }[]; alphaLog10: number; note: string }
  distribution: { zScores: number[]; note: string }
  excerpts: { input: number; inputId: string; startToken: number; log10P: number; tokens: HeatToken[] }[]
  legend: { kind: 'bits' | 'scale'; items: { label: string; u: number | null }[] }
  exclusions: { rows: [string, string][]; notes: string[] }
  limitations: { title: string; text: string }[]
  custody: {
    rows: [string, string][]
    /** `source`: the input's provenance as recorded at collection (probe endpoint, model, request id, time, sample id; server source fields). */
    inputs: { n: number; id: string; sha256: string; chars: number; source: string }[]
    inputsOmitted: number
    verification: { status: string; message: string; id: string }[] | null
  }
  reproduce: { commands: string[]; notes: string[] }
  notes: string
  /** The schedule analysis (attribution to cohorts and accounts), when the bundle holds one. */
  attribution: AttributionModel | null
}

/** Position of an observation on [0, 1], uniform-ish under H0: 0.5 is what chance gives. */
export function unitScore(model: NullModelRecord, value: number): number {
  if (model.kind === 'binomial') return Math.min(1, Math.max(0, value / model.trialsPerToken))
  return 1 - Math.exp(-value) // Exp(1) score → its uniform
}

const MAX_CUSTODY_INPUTS = 200

/** Files named in the reproduce commands: the ones the report was actually made from (placeholders otherwise). */
export interface ReproduceSources {
  corpus: string[]
  prompts?: string
  filter?: string
  /** The `--split` mode the corpus was read with, when not the default. */
  split?: string
}

export function reportModel(
  body: EvidenceBody,
  opts: { bundleSha256: string; verification?: VerifyResult; bundleName?: string; sources?: ReproduceSources },
): ReportModel {
  const r = body.result
  const st = body.statistics
  const m = body.method
  const alphaLog10 = Math.log10(m.alpha)
  const scheme = (() => {
    try {
      return getScheme(body.key.scheme)
    } catch {
      return undefined
    }
  })()
  const schemeName = scheme ? `${scheme.title} (tokenmark scheme "${body.key.scheme}")` : `tokenmark scheme "${body.key.scheme}"`
  const n = body.inputs.items.length
  const texts = `${int(n)} text${n === 1 ? '' : 's'}`
  const pText = pow10Text(r.log10P)

  // "The 2,000 texts carry the watermark" reads as "every text does": the test is of the corpus as a whole,
  // so the sentence says so and counts the texts that are significant on their own (issue 15).
  const significantAlone = body.inputs.items.filter((i) => i.tokensScored > 0 && i.log10P <= alphaLog10).length
  const subject = n === 1 ? 'The text in this case' : `The corpus of ${texts}, taken together,`
  const alone =
    n === 1
      ? ''
      : ` ${int(significantAlone)} of the ${texts} ${significantAlone === 1 ? 'is' : 'are'} significant on ${significantAlone === 1 ? 'its' : 'their'} own at the same level; the evidence of the others counts only in aggregate.`
  // Whether the level was chosen before the data were seen is not something the tool can know; when it was
  // set for this analysis (the sealing) and by whom (the signer) it can say.
  const alphaSet = `set for this analysis, sealed ${body.created} by signer ${body.signer.id}`
  const sentence = !r.valid
    ? `This analysis of the ${texts} in this case is NOT A VALID TEST and supports no conclusion about the watermark of key ${body.key.keyId}: ${r.warnings.join('; ')}.`
    : r.detected
    ? `${subject} carries the statistical watermark of key ${body.key.keyId}: text produced without that key would show evidence this strong about ${oneIn(r.log10P)} times (p = ${pText}).${alone}`
    : `${subject} does not show significant evidence of the watermark of key ${body.key.keyId} (p = ${pText}; significance level ${pow10Text(alphaLog10)}, ${alphaSet}).${alone}`
  const means = r.detected
    ? [
        'The pattern of word choices in these texts matches the secret key far more often than chance allows. Under the hypothesis that the texts were produced without any influence of the key, a match this strong or stronger would occur ' +
          `${oneIn(r.log10P)} times.`,
        'The trace is consistent with the texts, or the model that wrote them, having been derived from output the key holder watermarked — for example a model trained ("distilled") on that output.',
      ]
    : [
        `The evidence did not reach the significance level of ${pow10Text(alphaLog10)} (${alphaSet}).`,
        r.tokensNeeded !== null
          ? `If the observed effect is real, about ${int(r.tokensNeeded)} scored tokens would be needed to reach p < 10⁻⁶ (${int(st.tokensScored)} were scored).`
          : 'The observed effect is not above chance level.',
      ]
  const doesNotMean = r.detected
    ? [
        'It does not say who produced the texts or how: a model trained on watermarked output, a person or program copying watermarked text, and a party that learned to imitate the watermark (spoofing) all leave this trace.',
        'It does not measure how much watermarked text was used, nor whether its use was lawful.',
        'The p-value is not the probability that the texts are innocent; it is the probability of evidence this strong if they were.',
      ]
    : [
        'It does not show that the texts are free of watermarked material: paraphrasing, scrubbing, too little text, or a tokenizer mismatch all lower the power of the test.',
        'Absence of evidence is not evidence of absence.',
      ]

  const statLine =
    m.nullModel.kind === 'binomial'
      ? m.nullModel.trialsPerToken === 1
        ? `${int(st.value)} of ${int(st.tokensScored)} scored tokens were "green" (${pct(st.value, st.tokensScored)}; ${(m.nullModel.p * 100).toFixed(1)}% expected by chance)`
        : `mean g-value ${(st.value / Math.max(1, st.tokensScored * m.nullModel.trialsPerToken)).toFixed(4)} over ${m.nullModel.trialsPerToken} layers (${m.nullModel.p} expected by chance)`
      : `mean score ${(st.value / Math.max(1, st.tokensScored)).toFixed(4)} per scored token (1 expected by chance)`

  const testName =
    m.nullModel.kind === 'binomial'
      ? m.nullModel.trialsPerToken === 1
        ? `an exact binomial test: under the null hypothesis each scored token is "green" independently with probability ${m.nullModel.p}, so the number of green tokens follows a binomial distribution and its upper tail is computed exactly`
        : `an exact binomial test: under the null hypothesis each of the ${m.nullModel.trialsPerToken} g-values of a scored token is 1 independently with probability ${m.nullModel.p}, so their sum follows a binomial distribution and its upper tail is computed exactly`
      : 'an exact Gamma test: under the null hypothesis each scored token\'s score is an independent Exp(1) variable, so their sum follows a Gamma distribution whose upper tail is computed exactly'
  const paragraphs = [
    `The key holder embedded a statistical watermark using ${schemeName}: at each step of generation, a secret key and the preceding tokens decide which next tokens are slightly preferred. Text written without the key prefers them only by chance.`,
    `Each text was ${m.normalize ? 'normalised (Unicode NFC, invisible and look-alike characters) and ' : ''}split into tokens with the ${body.tokenizer.name} tokenizer (version ${body.tokenizer.version}). Every (context, token) pair was scored against the key${m.dedup ? ' once across the whole corpus: repeated pairs are not counted again, because repetition would break the independence the test relies on' : ' — de-duplication was turned OFF for this analysis, so repeated pairs were counted every time, which can overstate the evidence'}.`,
    `The p-value comes from ${testName}. A z-score (${r.zScore.toFixed(2)}) is shown for orientation only. ${r.valid ? `The e-value (${pow10Text(r.log10E)}) is an anytime-valid measure: it stays valid even if collection stopped when the results looked good.` : `The e-value (${pow10Text(r.log10E)}) is NOT anytime-valid here, because the test is not valid.`}`,
    body.prompts.items.length > 0 || body.inputs.items.some((i) => i.promptSha256 !== undefined)
      ? 'Pairs that occur in the prompts given to the suspect model were excluded, so that text copied from a prompt counts neither for nor against it.'
      : 'No prompts were recorded, so no pairs were excluded for prompt overlap.',
    m.keysTested > 1 ? `${m.keysTested} keys were searched and the p-value was multiplied by ${m.keysTested} (Bonferroni correction).` : 'Exactly one key was tested, chosen before the analysis, so no correction for searching several keys applies.',
  ]
  const citations = [
    ...(scheme ? [scheme.citation] : []),
    'Fernandez, Chaffin, Tit, Chappelier, Furon (2023). Three Bricks to Consolidate Watermarks for Large Language Models. IEEE WIFS. (exact tests, de-duplication)',
    'Sander, Fernandez, Durmus, Douze, Furon (2024). Watermarking Makes Language Models Radioactive. NeurIPS. (detecting training on watermarked text)',
    'Ramdas, Grünwald, Vovk, Shafer (2023). Game-Theoretic Statistics and Safe Anytime-Valid Inference. Statistical Science. (e-values)',
  ]

  const legend: ReportModel['legend'] =
    m.nullModel.kind === 'binomial' && m.nullModel.trialsPerToken === 1
      ? { kind: 'bits', items: [{ label: 'green: matches the key (supports the watermark)', u: 1 }, { label: 'red: does not match', u: 0 }, { label: 'grey: not scored (no context, repeated, excluded or filtered)', u: null }] }
      : { kind: 'scale', items: [{ label: 'low score (against the watermark)', u: 0 }, { label: 'chance level', u: 0.5 }, { label: 'high score (supports the watermark)', u: 1 }, { label: 'not scored', u: null }] }

  const excerpts = body.excerpts.map((e) => ({
    input: e.input,
    inputId: body.inputs.items[e.input]?.id ?? String(e.input + 1),
    startToken: e.startToken,
    log10P: e.log10P,
    tokens: e.pieces.map((text, i) => {
      const v = e.values[i]
      return { text, value: v, reason: REASON_NAMES[e.reasons[i]] ?? 'scored', u: v === null ? null : unitScore(m.nullModel, v) }
    }),
  }))

  const exRows: [string, string][] = [
    ['tokens seen', int(st.tokensSeen)],
    ['tokens scored', `${int(st.tokensScored)} (${pct(st.tokensScored, st.tokensSeen)})`],
    ['without enough preceding context', int(st.noContext)],
    [m.dedup ? 'repeated (context, token) pairs, counted once' : 'repeated pairs (de-duplication OFF: counted)', int(st.duplicate)],
    ['excluded because they occur in prompts', `${int(st.excluded)} (${body.prompts.items.length} excluded prompts, ${body.inputs.items.filter((i) => i.promptSha256 !== undefined).length} texts with their own prompt)`],
    ['outside the emission filter', body.filter ? int(st.filtered) : 'no filter applied'],
  ]
  const exNotes = [
    body.filter
      ? `An emission filter (${body.filter.description}; ${int(body.filter.contexts)} contexts recorded, false-positive rate ${body.filter.falsePositiveRate.toPrecision(2)}, SHA-256 ${body.filter.sha256}) restricted scoring to tokens whose context the key holder actually served. It keys on contexts, never on the scored token, so it keeps the test valid.`
      : 'No emission filter was applied: every token with enough context was scored.',
    body.normalization.applied.length > 0
      ? `Normalisation steps: ${body.normalization.applied.join(', ')}; changes made: ${Object.entries(body.normalization.changes).filter(([, v]) => v > 0).map(([k, v]) => `${v} ${k}`).join(', ') || 'none'}.`
      : m.normalize
        ? 'Normalisation was on and changed nothing.'
        : 'Normalisation was OFF.',
  ]

  const limitations = [
    { title: 'Paraphrase and scrubbing', text: 'Rewording text, translating it, or deliberately replacing tokens removes part of the watermark. The test then loses power; it does not produce false accusations, but a negative result is weak.' },
    { title: 'An adaptive distiller', text: 'A party that trains on watermarked output and knows a watermark may be present can filter, paraphrase or mix its training data to weaken the trace that survives in its model.' },
    { title: 'Spoofing', text: 'A party that collected enough watermarked text can learn to imitate the watermark and make innocent text look watermarked. A positive result shows influence of the key, not who exercised it.' },
    { title: 'Tokenizer mismatch', text: `The test is only as good as its tokenization: text must be split with the tokenizer the watermark was embedded with (here ${body.key.tokenizer}). A different tokenizer or heavy reformatting weakens the evidence; it cannot create it.` },
    { title: 'Independence and selection', text: 'The exact p-value assumes the texts were selected without looking at their scores. The excerpts shown were chosen because they score highest; their own figures are illustrations, not tests.' },
  ]

  const vr = opts.verification
  const custodyRows: [string, string][] = [
    ['bundle file', `${opts.bundleName ? opts.bundleName + ', ' : ''}SHA-256 ${opts.bundleSha256}`],
    ['created', body.created],
    ['signer', `${body.signer.id} (Ed25519 public key ${toHex(body.signer.publicKey)})`],
    ['signature', vr ? (vr.checks.find((c) => c.id === 'signature')?.message ?? 'not checked') : 'not checked when this report was rendered'],
    ['watermark key', `${body.key.keyId}, ${body.key.scheme} ${JSON.stringify(body.key.params)}, tokenizer ${body.key.tokenizer}`],
    ['key commitment', body.key.commitment],
    ['software', `${body.software.name} ${body.software.version} (evidence ${body.software.evidenceVersion}), ${body.software.runtime}`],
    ['PRF', `${body.software.prfVersion}, conformance vectors hash ${body.software.conformanceHash}`],
    ['tokenizer', `${body.tokenizer.name} ${body.tokenizer.version}`],
    ['texts in the bundle', body.inputs.included ? 'included (the analysis can be rerun from the bundle)' : 'NOT included: only their SHA-256 hashes are recorded'],
  ]
  if (body.shards) {
    const sh = body.shards
    custodyRows.push(['sharded scan', `these statistics are the merge of ${sh.count} shard part${sh.count === 1 ? '' : 's'} (.tmacc); Merkle root of their SHA-256 (RFC 6962): ${sh.merkleRoot}`])
    custodyRows.push(['shard parts merged', sh.parts.map((p, i) => `${i}/${sh.count} ${p.sha256}`).join('; ')])
  }
  const inputs = body.inputs.items.slice(0, MAX_CUSTODY_INPUTS).map((it, i) => ({
    n: i + 1,
    id: it.id,
    sha256: it.sha256,
    chars: it.chars,
    source: it.provenance ? Object.entries(it.provenance).map(([k, v]) => `${k} ${v}`).join(', ') : '',
  }))
  if (!inputs.some((i) => i.source !== '')) custodyRows.push(['provenance of the texts', 'not recorded (the texts were given without collection records)'])

  // Named files only: a placeholder in angle brackets never names a file that might exist.
  const bundle = opts.bundleName ?? '<bundle.tmev>'
  const src = opts.sources
  const corpus = src?.corpus.length ? src.corpus.join(' ') : '<corpus files>'
  const reproduce = {
    commands: [
      `tokenmark verify ${bundle} --public-key signer.pub.json`,
      `tokenmark verify ${bundle} --public-key signer.pub.json --key watermark.key --json`,
      `tokenmark report --key watermark.key --signing-key signer.key${body.prompts.items.length ? ` --prompts ${src?.prompts ?? '<prompts file>'}` : ''}${body.filter ? ` --filter ${src?.filter ?? '<emission filter>'}` : ''}${src?.split ? ` --split ${src.split}` : ''}${m.dedup ? '' : ' --no-dedup --force'} --bundle again.tmev --out again.html ${corpus}`,
    ],
    notes: [
      'The first command checks the signature and that every included text matches its recorded hash; anyone can run it with the signer\'s public key.',
      'The second, run by the key holder or a court-appointed expert with the watermark key, also checks the key against its commitment and recomputes every number in this report from the texts in the bundle.',
      `The third reruns the whole analysis from the original corpus with tokenmark ${body.software.version}; the statistics must match (only creation time and signature differ).`,
    ],
  }
  if (body.schedule) {
    // The attribution section is recomputed with the schedule's secret, not the watermark key (docs/evidence-format.md#schedule).
    reproduce.commands.splice(2, 0, `tokenmark verify ${bundle} --public-key signer.pub.json --schedule provider.schedule --schedule-public provider.schedule.json --json`)
    reproduce.notes.splice(
      2,
      0,
      `This one, run by the holder of key schedule ${body.schedule.scheduleId}'s secret, checks the schedule against its commitment and recomputes the attribution section (the global, per-cohort and per-epoch tests) from the texts in the bundle.`,
    )
    reproduce.notes[3] = reproduce.notes[3].replace('The third', 'The last')
  }

  return {
    title: body.case.title || 'Watermark attribution report',
    caseDescription: body.case.description,
    created: body.created,
    verdict: { valid: r.valid, detected: r.detected, sentence, means: r.valid ? means : [], doesNotMean, warnings: r.warnings },
    numbers: {
      pValue: pText,
      pValueE: pow10E(r.log10P),
      log10P: r.log10P,
      oneIn: oneIn(r.log10P),
      eValue: pow10Text(r.log10E),
      log10E: r.log10E,
      alpha: pow10Text(alphaLog10),
      alphaSet,
      zScore: r.zScore,
      texts: n,
      significantAlone,
      tokensSeen: st.tokensSeen,
      tokensScored: st.tokensScored,
      statistic: statLine,
      tokensNeeded: r.tokensNeeded,
    },
    method: { paragraphs, citations },
    cumulative: {
      points: body.cumulative.map((p) => ({ ...p })),
      alphaLog10,
      note: 'The curve can fall as texts are added: a text with little or no watermark signal adds scored tokens without adding matches, which dilutes the running evidence. Only the final point, over the whole corpus, is the test.',
    },
    distribution: {
      zScores: body.inputs.items.filter((i) => i.tokensScored > 0).map((i) => i.zScore),
      note: 'Each text scored on its own. Without the watermark the z-scores scatter around 0 like the standard normal curve; a watermark shifts them to the right.',
    },
    excerpts,
    legend,
    exclusions: { rows: exRows, notes: exNotes },
    limitations,
    custody: {
      rows: custodyRows,
      inputs,
      inputsOmitted: Math.max(0, body.inputs.items.length - MAX_CUSTODY_INPUTS),
      verification: vr ? vr.checks.map((c) => ({ id: c.id, status: c.status, message: c.message })) : null,
    },
    reproduce,
    notes: body.notes,
    attribution: attributionModel(body),
  }
}
