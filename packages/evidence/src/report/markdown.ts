/** The Markdown rendering of the same report model: tables for the plots' data, bracketed tokens for the heat-map. */
import type { ReportModel } from './model.js'
import { int, pow10Text } from './numbers.js'

/**
 * Text the case's owner chose (its title and description) as Markdown that renders literally: HTML tags,
 * entities and Markdown syntax come out as the characters typed, as the HTML report's esc() does for HTML.
 * Newlines become spaces so a title cannot start a heading or a block of its own; with `[` escaped no
 * link or image can form, and the text never starts a line, so list and heading markers are inert.
 */
export const mdText = (s: string) =>
  s
    .replace(/[\r\n]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]#|~]/g, (c) => `\\${c}`)
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')
const table = (head: string[], rs: string[][]) => [`| ${head.map(cell).join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`, ...rs.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n')

/** At most `n` evenly spaced items, always the last. */
function thin<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs
  const out: T[] = []
  for (let j = 1; j <= n; j++) out.push(xs[Math.round((j * xs.length) / n) - 1])
  return out
}

export function renderMarkdown(m: ReportModel): string {
  const n = m.numbers
  const out: string[] = []
  out.push(`# ${mdText(m.title)}`, '', `Attribution report · created ${m.created}${m.caseDescription ? ` · ${mdText(m.caseDescription)}` : ''}`, '')
  out.push('## Verdict', '', `> **${m.verdict.sentence}**`, '', ...m.verdict.warnings.flatMap((w) => [`**Warning:** ${w}`, '']), '**What this means**', '', ...m.verdict.means.map((x) => `- ${x}`), '', '**What this does not mean**', '', ...m.verdict.doesNotMean.map((x) => `- ${x}`), '')
  out.push(
    '## The numbers',
    '',
    table(
      ['measure', 'value'],
      [
        ['p-value', `${n.pValue} (log10 p = ${n.log10P.toFixed(2)})`],
        ['chance of evidence this strong without the watermark', n.oneIn],
        ['e-value (anytime-valid)', `${n.eValue} (log10 e = ${n.log10E.toFixed(2)})`],
        ['tokens scored', `${int(n.tokensScored)} of ${int(n.tokensSeen)} seen in ${int(n.texts)} texts`],
        ['statistic', `${n.statistic}; z = ${n.zScore.toFixed(2)}`],
        ['significance level', `${n.alpha} (${n.alphaSet})`],
        ['texts significant on their own', `${int(n.significantAlone)} of ${int(n.texts)}`],
      ],
    ),
    '',
  )
  const a = m.attribution
  if (a) {
    out.push('## Attribution to cohorts and accounts', '', `> **${mdText(a.sentence)}**`, '', ...a.rules.flatMap((x) => [x, '']))
    out.push(table(['cohort', 'tokens scored', 'p', 'Holm-adjusted p', ''], a.cohorts), '', table(['epoch', 'tokens scored', 'p', 'Holm-adjusted p', ''], a.epochs), '')
    if (a.accounts.length) out.push('**Accounts behind each flagged cohort** (from the serving log)', '', table(['cohort', 'accounts'], a.accounts.map((x) => [x.cohort, mdText(x.accounts)])), '')
    out.push('**Serving log integrity**', '', table(['', ''], a.log), '')
  }
  out.push('## Method', '', ...m.method.paragraphs.flatMap((p) => [p, '']), '**References**', '', ...m.method.citations.map((c, i) => `${i + 1}. ${c}`), '')
  out.push(
    '## Cumulative evidence',
    '',
    'Evidence (−log10 p) as texts are added; the HTML report plots it. Above ' + (-m.cumulative.alphaLog10).toFixed(0) + ' means p is below the significance level.',
    '',
    table(['texts', 'tokens scored', '−log10 p'], thin(m.cumulative.points, 12).map((p) => [int(p.texts), int(p.tokensScored), (-p.log10P).toFixed(2)])),
    '',
    m.cumulative.note,
    '',
  )
  const zs = m.distribution.zScores
  const bands: [string, (z: number) => boolean, number][] = [
    ['z < −2', (z) => z < -2, 0.0228],
    ['−2 ≤ z < 0', (z) => z >= -2 && z < 0, 0.4772],
    ['0 ≤ z < 2', (z) => z >= 0 && z < 2, 0.4772],
    ['2 ≤ z < 4', (z) => z >= 2 && z < 4, 0.02272],
    ['z ≥ 4', (z) => z >= 4, 0.0000317],
  ]
  out.push(
    '## Per-text scores',
    '',
    m.distribution.note,
    '',
    table(['z-score band', 'texts', 'expected without watermark'], bands.map(([label, f, p]) => [label, int(zs.filter(f).length), (p * zs.length).toFixed(1)])),
    '',
  )
  out.push('## Token evidence in the strongest excerpts', '')
  out.push(
    m.legend.kind === 'bits'
      ? 'Legend: `[token]` green, matches the key; plain token: red, does not match; `{token}` not scored.'
      : 'Legend: `[token]` scores above chance level; plain token: at or below chance; `{token}` not scored. The HTML report colours each token by its score.',
    '',
  )
  if (m.excerpts.length === 0) out.push('No excerpts: the bundle was made without its texts.', '')
  for (const e of m.excerpts) {
    const body = e.tokens
      .map((t) => {
        const lead = t.text.match(/^\s*/)?.[0] ?? ''
        const core = t.text.slice(lead.length)
        if (core === '') return t.text
        const wrapped = t.u === null ? `{${core}}` : t.u > 0.5 ? `[${core}]` : core
        return lead + wrapped
      })
      .join('')
      .replace(/`{3,}/g, (s) => s.split('').join('\u200b'))
    out.push(`**Text ${e.inputId}** (input ${e.input + 1}), from token ${int(e.startToken)}; this span alone: p = ${pow10Text(e.log10P)} (an illustration: the span was selected for its score, so this is not a test)`, '', '```text', body, '```', '')
  }
  out.push('## Exclusions and filters', '', table(['', 'count'], m.exclusions.rows), '', ...m.exclusions.notes.flatMap((x) => [x, '']))
  out.push('## Limitations', '', ...m.limitations.map((l) => `- **${l.title}.** ${l.text}`), '')
  out.push('## Chain of custody', '', table(['', ''], m.custody.rows), '')
  if (m.custody.verification) out.push('**Verification when this report was rendered**', '', table(['check', 'result', 'detail'], m.custody.verification.map((c) => [c.id, c.status.toUpperCase(), c.message])), '')
  out.push('**Inputs**', '', table(['#', 'id', 'SHA-256 of the text (UTF-8)', 'characters', 'source'], m.custody.inputs.map((i) => [String(i.n), i.id, `\`${i.sha256}\``, int(i.chars), i.source])), '')
  if (m.custody.inputsOmitted) out.push(`${int(m.custody.inputsOmitted)} more inputs are listed in the bundle.`, '')
  if (m.notes) out.push("## Analyst's notes", '', m.notes, '')
  out.push('## How to reproduce', '', ...m.reproduce.commands.flatMap((c, i) => ['```sh', c, '```', '', m.reproduce.notes[i] ?? '', '']))
  return out.join('\n').replace(/\n{3,}/g, '\n\n')
}
