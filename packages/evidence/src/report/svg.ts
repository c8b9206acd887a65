/** Inline SVG plots for the report: no scripts, no external resources, readable in print. */
import { pow10Text } from './numbers.js'

export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)

const W = 640
const H = 300
const PAD = { l: 64, r: 20, t: 20, b: 48 }

/** About `n` round tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo]
  const raw = (hi - lo) / n
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? raw
  const out: number[] = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)))
  return out
}

const fmtTick = (v: number): string => (Math.abs(v) >= 10_000 ? `${Number((v / 1000).toPrecision(3))}k` : String(Number(v.toPrecision(4))))

function frame(id: string, title: string, xLabel: string, yLabel: string, xs: number[], ys: number[], x: (v: number) => number, y: (v: number) => number, inner: string): string {
  const grid = ys.map((v) => `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e3e3e3"/><text x="${PAD.l - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmtTick(v)}</text>`).join('')
  const xt = xs.map((v) => `<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${H - PAD.b}" y2="${H - PAD.b + 5}" stroke="#444"/><text x="${x(v).toFixed(1)}" y="${H - PAD.b + 18}" text-anchor="middle">${fmtTick(v)}</text>`).join('')
  return (
    `<svg id="${id}" class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}" font-family="sans-serif" font-size="11" fill="#222">` +
    `<title>${esc(title)}</title>${grid}${xt}` +
    `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${H - PAD.b}" y2="${H - PAD.b}" stroke="#444"/><line x1="${PAD.l}" x2="${PAD.l}" y1="${PAD.t}" y2="${H - PAD.b}" stroke="#444"/>` +
    inner +
    `<text x="${(PAD.l + W - PAD.r) / 2}" y="${H - 8}" text-anchor="middle">${esc(xLabel)}</text>` +
    `<text transform="translate(16 ${(PAD.t + H - PAD.b) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text></svg>`
  )
}

/** −log10 p of the corpus test against tokens scored, as texts are added, with the significance line. */
export function cumulativePlot(points: { tokensScored: number; log10P: number }[], alphaLog10: number): string {
  const pts = [{ tokensScored: 0, log10P: 0 }, ...points]
  // Loops, not Math.max(...): a bundle read from a file may hold any number of points.
  let xMax = 1
  let yTop = -alphaLog10 * 1.15
  for (const p of pts) {
    if (p.tokensScored > xMax) xMax = p.tokensScored
    if (-p.log10P > yTop) yTop = -p.log10P
  }
  const yMax = yTop * 1.05
  const x = (v: number) => PAD.l + (v / xMax) * (W - PAD.l - PAD.r)
  const y = (v: number) => H - PAD.b - (v / yMax) * (H - PAD.t - PAD.b)
  const path = pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.tokensScored).toFixed(1)} ${y(-p.log10P).toFixed(1)}`).join(' ')
  const ya = y(-alphaLog10)
  const inner =
    `<line class="threshold" x1="${PAD.l}" x2="${W - PAD.r}" y1="${ya.toFixed(1)}" y2="${ya.toFixed(1)}" stroke="#b00020" stroke-dasharray="6 4"/>` +
    `<text x="${W - PAD.r - 4}" y="${(ya - 5).toFixed(1)}" text-anchor="end" fill="#b00020">significance level (p = ${esc(pow10Text(alphaLog10))})</text>` +
    `<path class="series" d="${path}" fill="none" stroke="#1f5fa8" stroke-width="2.2"/>` +
    pts.slice(1).map((p) => `<circle cx="${x(p.tokensScored).toFixed(1)}" cy="${y(-p.log10P).toFixed(1)}" r="${points.length > 60 ? 1.2 : 2.5}" fill="#1f5fa8"/>`).join('')
  return frame('plot-cumulative', 'Cumulative evidence: −log10 p against tokens scored', 'tokens scored (texts added in order)', 'evidence, −log10 p', ticks(0, xMax), ticks(0, yMax), x, y, inner)
}

const normalPdf = (z: number) => Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI)

/** Histogram (as density) of per-text z-scores with the standard normal density they follow under H0. */
export function distributionPlot(zs: number[]): string {
  // A loop, not Math.min(...zs): a report over ~10⁵ texts would overflow the stack with that many arguments.
  let min = 0
  let max = 0
  for (const z of zs) {
    if (z < min) min = z
    if (z > max) max = z
  }
  const lo = Math.min(-4, Math.floor(min))
  const hi = Math.max(4, Math.ceil(max))
  const bins = Math.min(40, Math.max(8, Math.round(Math.sqrt(zs.length) * 2)))
  const width = (hi - lo) / bins
  const counts = new Array<number>(bins).fill(0)
  for (const z of zs) counts[Math.min(bins - 1, Math.max(0, Math.floor((z - lo) / width)))]++
  const dens = counts.map((c) => (zs.length ? c / (zs.length * width) : 0))
  const yMax = Math.max(0.45, ...dens) * 1.1
  const x = (v: number) => PAD.l + ((v - lo) / (hi - lo)) * (W - PAD.l - PAD.r)
  const y = (v: number) => H - PAD.b - (v / yMax) * (H - PAD.t - PAD.b)
  const bars = dens
    .map((d, i) => (d > 0 ? `<rect class="bar" x="${x(lo + i * width).toFixed(1)}" y="${y(d).toFixed(1)}" width="${Math.max(1, x(lo + (i + 1) * width) - x(lo + i * width) - 1).toFixed(1)}" height="${(y(0) - y(d)).toFixed(1)}" fill="#7fb3e0"/>` : ''))
    .join('')
  let curve = ''
  for (let k = 0; k <= 200; k++) {
    const z = lo + ((hi - lo) * k) / 200
    curve += `${k ? 'L' : 'M'}${x(z).toFixed(1)} ${y(normalPdf(z)).toFixed(1)} `
  }
  const inner =
    bars +
    `<path class="null" d="${curve.trim()}" fill="none" stroke="#b00020" stroke-width="2" stroke-dasharray="5 3"/>` +
    `<rect x="${W - PAD.r - 218}" y="${PAD.t + 4}" width="12" height="10" fill="#7fb3e0"/><text x="${W - PAD.r - 200}" y="${PAD.t + 13}">texts in this case (${zs.length})</text>` +
    `<line x1="${W - PAD.r - 218}" x2="${W - PAD.r - 206}" y1="${PAD.t + 27}" y2="${PAD.t + 27}" stroke="#b00020" stroke-width="2" stroke-dasharray="5 3"/><text x="${W - PAD.r - 200}" y="${PAD.t + 31}">without a watermark (null)</text>`
  return frame('plot-distribution', 'Per-text z-scores against the null distribution', 'z-score of each text, scored on its own', 'density', ticks(lo, hi, 8), ticks(0, yMax, 4), x, y, inner)
}
