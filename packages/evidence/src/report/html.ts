/**
 * The HTML rendering: one self-contained file. A Content-Security-Policy forbids every external
 * request (no scripts at all); plots are inline SVG; print CSS keeps sections whole on paper and PDF.
 */
import type { ReportModel } from './model.js'
import { int, pow10Text } from './numbers.js'
import { cumulativePlot, distributionPlot, esc } from './svg.js'

/** Background colour of a token on the heat-map: red (0) → white (0.5) → green (1); grey when not scored. */
export function heatColour(u: number | null): string {
  if (u === null) return '#e4e4e4'
  const mix = (a: number[], b: number[], t: number) => a.map((x, i) => Math.round(x + (b[i] - x) * t))
  const red = [242, 166, 166]
  const white = [255, 255, 255]
  const green = [140, 212, 150]
  const c = u < 0.5 ? mix(red, white, u / 0.5) : mix(white, green, (u - 0.5) / 0.5)
  return `rgb(${c.join(',')})`
}

const CSS = `
*{box-sizing:border-box}
body{font:15px/1.5 Georgia,'Times New Roman',serif;color:#1b1b1b;max-width:920px;margin:0 auto;padding:24px 28px;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;border-bottom:1px solid #ccc;padding-bottom:3px;margin-top:30px}
.sub{color:#555;margin:0 0 16px;font-family:sans-serif;font-size:13px}
.verdict{border-left:6px solid #777;background:#f6f6f6;padding:12px 16px;font-size:17px}
.verdict.detected{border-color:#1d7a35;background:#eef8f0}.verdict.not-detected{border-color:#8a6d00;background:#fbf7e8}.verdict.invalid{border-color:#a01010;background:#fbeaea}.warning{color:#a01010}
.cols{display:flex;gap:24px;flex-wrap:wrap}.cols>div{flex:1 1 300px}
table{border-collapse:collapse;width:100%;font-family:sans-serif;font-size:13px;margin:8px 0}
td,th{border:1px solid #d5d5d5;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.big{font-size:22px;font-weight:bold;font-family:sans-serif}
.numbers{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px}
.numbers>div{border:1px solid #ddd;border-radius:4px;padding:8px 10px}.numbers .label{font-family:sans-serif;font-size:12px;color:#555}
svg.plot{max-width:100%;height:auto;display:block;margin:8px 0}
.excerpt{font-family:'DejaVu Sans Mono',Menlo,monospace;font-size:13px;line-height:1.9;white-space:pre-wrap;word-break:break-word;border:1px solid #ddd;padding:10px;background:#fff}
.excerpt span{border-radius:2px}
.legend span.sw{display:inline-block;width:14px;height:14px;border:1px solid #999;vertical-align:middle;margin:0 4px 0 12px}
code,.mono{font-family:'DejaVu Sans Mono',Menlo,monospace;font-size:12.5px;word-break:break-all}
pre{background:#f5f5f5;padding:10px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.status-pass{color:#1d7a35;font-weight:bold}.status-fail{color:#b00020;font-weight:bold}.status-skip{color:#8a6d00;font-weight:bold}
footer{margin-top:36px;color:#666;font-size:12px;font-family:sans-serif}
@media print{body{max-width:none;padding:0;font-size:12pt}h2{break-after:avoid}section,svg,table,.excerpt{break-inside:avoid}a{color:inherit}}
`

const rows = (rs: [string, string][]) => rs.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')
const list = (xs: string[]) => `<ul>${xs.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>`

export function renderHtml(m: ReportModel): string {
  const n = m.numbers
  const cls = m.verdict.detected ? 'detected' : m.verdict.valid ? 'not-detected' : 'invalid'
  const legend = m.legend.items.map((it) => `<span class="sw" style="background:${heatColour(it.u)}"></span>${esc(it.label)}`).join('')
  const excerpts = m.excerpts.length
    ? m.excerpts
        .map(
          (e) =>
            `<figure class="excerpt-figure"><figcaption>Text ${esc(e.inputId)} (input ${e.input + 1}), from token ${int(e.startToken)}; this span alone: p = ${esc(pow10Text(e.log10P))} (an illustration: the span was selected for its score, so this is not a test)</figcaption>` +
            `<div class="excerpt" data-input="${e.input}">${e.tokens
              .map((t) => `<span style="background:${heatColour(t.u)}" title="${esc(`${t.reason}${t.value === null ? '' : `, value ${Number(t.value.toPrecision(4))}`}`)}">${esc(t.text)}</span>`)
              .join('')}</div></figure>`,
        )
        .join('')
    : '<p>No excerpts: the bundle was made without its texts, so it quotes none.</p>'
  const verification = m.custody.verification
    ? `<h3>Verification when this report was rendered</h3><table><tr><th>check</th><th>result</th><th>detail</th></tr>${m.custody.verification
        .map((c) => `<tr><td>${esc(c.id)}</td><td class="status-${c.status}">${c.status.toUpperCase()}</td><td>${esc(c.message)}</td></tr>`)
        .join('')}</table>`
    : ''
  const inputs = m.custody.inputs.map((i) => `<tr><td class="num">${i.n}</td><td>${esc(i.id)}</td><td class="mono">${i.sha256}</td><td class="num">${int(i.chars)}</td><td>${esc(i.source)}</td></tr>`).join('')

  const a = m.attribution
  const groupTable = (head: string, rs: string[][]) =>
    `<table><tr><th>${head}</th><th>tokens scored</th><th>p</th><th>Holm-adjusted p</th><th></th></tr>${rs.map((r) => `<tr><td>${esc(r[0])}</td><td class="num">${esc(r[1])}</td><td class="num">${esc(r[2])}</td><td class="num">${esc(r[3])}</td><td>${esc(r[4])}</td></tr>`).join('')}</table>`
  const attribution = a
    ? `<section id="attribution"><h2>Attribution to cohorts and accounts</h2>
<p class="verdict" id="attribution-sentence">${esc(a.sentence)}</p>${a.rules.map((x) => `<p>${esc(x)}</p>`).join('')}
<h3>Cohorts</h3>${groupTable('cohort', a.cohorts)}<h3>Epochs</h3>${groupTable('epoch', a.epochs)}
${a.accounts.length ? `<h3>Accounts behind each flagged cohort (from the serving log)</h3><table>${a.accounts.map((x) => `<tr><td>${esc(x.cohort)}</td><td>${esc(x.accounts)}</td></tr>`).join('')}</table>` : ''}
<h3>Serving log integrity</h3><table>${rows(a.log)}</table></section>
`
    : ''

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(m.title)}</title><style>${CSS}</style></head>
<body>
<header><h1>${esc(m.title)}</h1><p class="sub">Attribution report · created ${esc(m.created)}${m.caseDescription ? ` · ${esc(m.caseDescription)}` : ''}</p></header>

<section id="verdict"><h2>Verdict</h2>
<p class="verdict ${cls}" id="verdict-sentence">${esc(m.verdict.sentence)}</p>
${m.verdict.warnings.map((w) => `<p class="warning"><strong>Warning:</strong> ${esc(w)}</p>`).join('')}
<div class="cols"><div><h3>What this means</h3>${list(m.verdict.means)}</div><div><h3>What this does not mean</h3>${list(m.verdict.doesNotMean)}</div></div>
</section>

<section id="numbers"><h2>The numbers</h2>
<div class="numbers">
<div><div class="label">p-value</div><div class="big" id="p-value">${esc(n.pValue)}</div><div class="label">log10 p = ${n.log10P.toFixed(2)}</div></div>
<div><div class="label">chance of evidence this strong without the watermark</div><div class="big" id="one-in">${esc(n.oneIn)}</div></div>
<div><div class="label">e-value (anytime-valid)</div><div class="big" id="e-value">${esc(n.eValue)}</div><div class="label">log10 e = ${n.log10E.toFixed(2)}</div></div>
<div><div class="label">tokens scored</div><div class="big" id="tokens-scored">${int(n.tokensScored)}</div><div class="label">of ${int(n.tokensSeen)} seen in ${int(n.texts)} texts</div></div>
</div>
<p>${esc(n.statistic)}; z = ${n.zScore.toFixed(2)}. Significance level: ${esc(n.alpha)}, ${esc(n.alphaSet)}.${n.tokensNeeded !== null && !m.verdict.detected ? ` At the observed effect about ${int(n.tokensNeeded)} scored tokens would reach p &lt; 10<sup>−6</sup>.` : ''}</p>
</section>

${attribution}<section id="method"><h2>Method</h2>${m.method.paragraphs.map((p) => `<p>${esc(p)}</p>`).join('')}
<h3>References</h3><ol>${m.method.citations.map((c) => `<li>${esc(c)}</li>`).join('')}</ol></section>

<section id="cumulative"><h2>Cumulative evidence</h2>
<p>The strength of the evidence as texts are added: the higher the line, the smaller the p-value. Crossing the dashed line means p is below the significance level.</p>
${cumulativePlot(m.cumulative.points, m.cumulative.alphaLog10)}
<p class="note" id="cumulative-note">${esc(m.cumulative.note)}</p></section>

<section id="distribution"><h2>Per-text scores</h2><p>${esc(m.distribution.note)}</p>
${distributionPlot(m.distribution.zScores)}</section>

<section id="heatmap"><h2>Token evidence in the strongest excerpts</h2>
<p class="legend">${legend}</p>${excerpts}</section>

<section id="exclusions"><h2>Exclusions and filters</h2><table>${rows(m.exclusions.rows)}</table>${m.exclusions.notes.map((x) => `<p>${esc(x)}</p>`).join('')}</section>

<section id="limitations"><h2>Limitations</h2><dl>${m.limitations.map((l) => `<dt><strong>${esc(l.title)}</strong></dt><dd>${esc(l.text)}</dd>`).join('')}</dl></section>

<section id="custody"><h2>Chain of custody</h2><table>${rows(m.custody.rows)}</table>${verification}
<details id="inputs"><summary>Inputs: ${int(n.texts)} text${n.texts === 1 ? '' : 's'} and the SHA-256 of each (also in the bundle and the JSON report)</summary>
<table><tr><th>#</th><th>id</th><th>SHA-256 of the text (UTF-8)</th><th>characters</th><th>source</th></tr>${inputs}</table>
${m.custody.inputsOmitted ? `<p>${int(m.custody.inputsOmitted)} more inputs are listed in the bundle.</p>` : ''}</details></section>

${m.notes ? `<section id="notes"><h2>Analyst's notes</h2><p style="white-space:pre-wrap">${esc(m.notes)}</p></section>` : ''}

<section id="reproduce"><h2>How to reproduce</h2>${m.reproduce.commands.map((c, i) => `<pre><code>${esc(c)}</code></pre><p>${esc(m.reproduce.notes[i] ?? '')}</p>`).join('')}</section>
<footer>Rendered from a signed tokenmark evidence bundle. The bundle, not this page, is the evidence: verify it with the signer's public key.</footer>
</body></html>
`
}
