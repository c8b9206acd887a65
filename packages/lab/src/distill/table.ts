/** The distillation table as Markdown (docs/results.md, `tokenmark lab distill --table`). */
import type { DistillRow, DistillSetup } from './simulate.js'

/** 10^x as text for any x (p-values and e-values under- and overflow doubles). */
export function pow10Text(x: number): string {
  if (!Number.isFinite(x)) return String(x)
  if (x > -3 && x < 4) return Number((10 ** x).toPrecision(2)).toString()
  const e = Math.floor(x)
  let m = Math.round(10 ** (x - e) * 10) / 10
  let ee = e
  if (m >= 10) {
    m /= 10
    ee++
  }
  return `${m.toFixed(1)}e${ee}`
}

export function formatRho(rho: number): string {
  return `${Number((rho * 100).toPrecision(3))} %`
}

export function distillMarkdown(rows: readonly DistillRow[], setup?: DistillSetup): string {
  const n = (x: number | null) => (x === null ? '—' : x.toLocaleString('en-US'))
  const lines = [
    '| ρ | filter | teacher tokens in training | filter holds (response tokens) | p-value | log10 p | e-value | tokens scored | tokens filtered out | scored tokens needed for p < 1e-6 (extrapolated) | probe tokens until p stays < 1e-6 (measured) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ]
  for (const r of rows) {
    lines.push(
      `| ${formatRho(r.rho)} | ${r.filterMode} | ${n(r.teacherTokens)} | ${r.filterMode === 'off' ? '—' : n(r.filterTokens)} | ${pow10Text(r.log10P)} | ${r.log10P.toFixed(2)} | ${pow10Text(r.log10E)} | ${n(r.tokensScored)} | ${n(r.tokensSkipped.filtered)} | ${n(r.tokensNeeded)} | ${n(r.probeTokensToP6)} |`,
    )
  }
  if (setup) {
    const o = setup.options
    lines.push(
      '',
      `Teacher key ${setup.keyId} (${setup.scheme} ${JSON.stringify(setup.params)}); order-${o.order} n-grams on ${o.tokenizer}; ` +
        `student trained on ${o.trainTokens.toLocaleString('en-US')} tokens; teacher served ${setup.teacherResponses} responses ` +
        `(${setup.teacherTokensServed.toLocaleString('en-US')} tokens, top-k ${o.teacherTopK}) recorded in a ${setup.filterBytes.toLocaleString('en-US')}-byte emission filter (\`served\`); ` +
        `\`accounts\` filter: the harvested responses only (at ρ = 0 a harvest of ${setup.nullHarvestTokens.toLocaleString('en-US')} tokens, never trained on); ` +
        `probe: ${setup.probeAnswers} student answers (${setup.probeTokens.toLocaleString('en-US')} tokens, top-k ${o.probeTopK}) to ${setup.probePrompts} held-out prompts; seed ${o.seed}.`,
    )
  }
  return lines.join('\n') + '\n'
}
