/**
 * The token view of one detection: the text as it was given, each token coloured by whether it matched the
 * key — green, red, or grey when it was not scored (no context, a repeated tuple, excluded or filtered) —
 * with the numbers and a legend. One model and one HTML rendering, used by `tokenmark detect --html` and the
 * server's /docs/try page; the CLI's terminal rendering (`detect --show`) prints the same segments.
 * Colours come from the attribution report's heat-map (html.ts), so a token looks the same everywhere.
 */
import type { DetectionResult } from '@tokenmark/core'
import type { NullModelRecord } from '../body.js'
import { heatColour } from './html.js'
import { unitScore } from './model.js'
import { int, oneIn, pct, pow10Text } from './numbers.js'
import { esc } from './svg.js'

export type TokenViewKind = 'match' | 'miss' | 'unscored'

export interface TokenViewSegment {
  text: string
  kind: TokenViewKind
  /** Position on the report's colour scale (0 against the watermark, 0.5 chance, 1 for it); null when not scored. */
  u: number | null
  /** Why a token was or was not scored; `text` for characters outside any token (none in practice). */
  reason: string
  value: number | null
}

export interface TokenView {
  segments: TokenViewSegment[]
  detected: boolean
  keyId: string
  scheme: string
  /** "3.2e-41"-style p-value text, and the "about 1 in …" reading of it. */
  pValue: string
  oneIn: string
  log10P: number
  alpha: number
  tokensTotal: number
  tokensScored: number
  matched: number
  /** One sentence on what green and red mean for this scheme. */
  legend: { kind: TokenViewKind; label: string }[]
}

/** The observation's null model as the report's colour scale needs it. */
function nullModelOf(r: DetectionResult): NullModelRecord {
  if (r.statistic === 'scoreSum') return { kind: 'gamma' }
  return { kind: 'binomial', p: 0.5, trialsPerToken: r.statistic === 'gSum' ? Number(r.params.layers ?? 1) : 1 }
}

/**
 * The view of `result` (a detection of `text` with `marks: true`, e.g. `detect({ text, keys, marks: true })`
 * or the server's reply with `marks`). A token "matches" when its observation is above what chance gives
 * (u > 0.5): a green-list hit for kgw and unigram, a g-value sum above half the layers for synthid, a
 * Gumbel score above its median for gumbel.
 */
export function tokenView(text: string, result: DetectionResult): TokenView {
  if (!result.marks) throw new Error('tokenView needs a detection made with marks: true')
  const model = nullModelOf(result)
  const segments: TokenViewSegment[] = []
  let at = 0
  let matched = 0
  for (const m of result.marks) {
    const start = m.start ?? at
    const end = m.end ?? start
    if (start > at) segments.push({ text: text.slice(at, start), kind: 'unscored', u: null, reason: 'text', value: null })
    const u = m.value === null ? null : unitScore(model, m.value)
    const kind: TokenViewKind = u === null ? 'unscored' : u > 0.5 ? 'match' : 'miss'
    if (kind === 'match') matched++
    if (end > start) segments.push({ text: text.slice(start, end), kind, u, reason: m.reason, value: m.value })
    at = Math.max(at, end)
  }
  if (at < text.length) segments.push({ text: text.slice(at), kind: 'unscored', u: null, reason: 'text', value: null })
  const bits = result.statistic === 'greenCount'
  return {
    segments,
    detected: result.detected,
    keyId: result.keyId,
    scheme: result.scheme,
    pValue: pow10Text(result.log10P),
    oneIn: oneIn(result.log10P),
    log10P: result.log10P,
    alpha: result.alpha,
    tokensTotal: result.tokensTotal,
    tokensScored: result.tokensScored,
    matched,
    legend: [
      { kind: 'match', label: bits ? 'green: on the key’s green list (supports the watermark)' : 'green: scores above chance for the key (supports the watermark)' },
      { kind: 'miss', label: bits ? 'red: not on the green list' : 'red: scores at or below chance' },
      { kind: 'unscored', label: 'grey: not scored (no context yet, a repeated (context, token) pair, excluded or filtered)' },
    ],
  }
}

/** Solid colours per kind: the heat-map's ends (html.ts), so the view matches the report's excerpts. */
export const TOKEN_VIEW_COLOURS: Record<TokenViewKind, string> = { match: heatColour(1), miss: heatColour(0), unscored: heatColour(null) }

const VIEW_CSS = `
.tm-view{font-family:sans-serif;font-size:14px;color:#1b1b1b}
.tm-view .tm-verdict{border-left:6px solid #8a6d00;background:#fbf7e8;padding:8px 12px;font-size:16px;margin:0 0 10px}
.tm-view .tm-verdict.detected{border-color:#1d7a35;background:#eef8f0}
.tm-view dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0}.tm-view dt{color:#555}.tm-view dd{margin:0;font-variant-numeric:tabular-nums}
.tm-view .tm-legend span.sw{display:inline-block;width:14px;height:14px;border:1px solid #999;vertical-align:middle;margin:0 4px 0 12px}
.tm-view .tm-text{font-family:'DejaVu Sans Mono',Menlo,monospace;font-size:13px;line-height:1.9;white-space:pre-wrap;word-break:break-word;border:1px solid #ddd;padding:10px;background:#fff}
.tm-view .tm-text span{border-radius:2px}
.tm-view .tm-text .match{background:${TOKEN_VIEW_COLOURS.match}}.tm-view .tm-text .miss{background:${TOKEN_VIEW_COLOURS.miss}}.tm-view .tm-text .unscored{background:${TOKEN_VIEW_COLOURS.unscored}}
`

/** The view as an HTML fragment with its own scoped style (no scripts, no external assets). */
export function renderTokenViewFragment(v: TokenView): string {
  const verdict = v.detected ? 'Watermark detected' : 'No watermark detected'
  const numbers: [string, string][] = [
    ['p-value', `${v.pValue} (${v.oneIn})`],
    ['significance level', String(v.alpha)],
    ['key', `${v.keyId} (${v.scheme})`],
    ['tokens', `${int(v.tokensTotal)} in the text, ${int(v.tokensScored)} scored`],
    ['matched the key', v.tokensScored > 0 ? `${int(v.matched)} of ${int(v.tokensScored)} scored (${pct(v.matched, v.tokensScored)})` : 'none scored'],
  ]
  const legend = v.legend.map((l) => `<span class="sw" style="background:${TOKEN_VIEW_COLOURS[l.kind]}"></span>${esc(l.label)}`).join('')
  const text = v.segments
    .map((s) => `<span class="${s.kind}" title="${esc(s.value === null ? s.reason : `${s.reason}, value ${Number(s.value.toPrecision(4))}`)}">${esc(s.text)}</span>`)
    .join('')
  return (
    `<div class="tm-view"><style>${VIEW_CSS}</style>` +
    `<p class="tm-verdict${v.detected ? ' detected' : ''}" id="tm-verdict">${verdict}: p = ${esc(v.pValue)}</p>` +
    `<dl>${numbers.map(([k, x]) => `<dt>${esc(k)}</dt><dd>${esc(x)}</dd>`).join('')}</dl>` +
    `<p class="tm-legend">${legend}</p><div class="tm-text">${text}</div></div>`
  )
}

/** The view as one self-contained page: a Content-Security-Policy forbids every request, scripts included. */
export function renderTokenViewPage(v: TokenView, title = 'tokenmark: token view'): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>body{max-width:920px;margin:0 auto;padding:24px 28px;background:#fff}h1{font:bold 22px sans-serif}</style></head>
<body><h1>${esc(title)}</h1>
${renderTokenViewFragment(v)}
<p style="font:12px sans-serif;color:#666">Made by tokenmark. The p-value is exact for the scored tokens; the colours show each token’s own observation, which alone proves nothing.</p>
</body></html>
`
}
