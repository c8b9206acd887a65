/** What `tokenmark detect` does. Its options are declared in commands/detect.ts; this module loads only when it runs. */
import { detect, type DetectionResult, type WatermarkKey } from '@tokenmark/core'
import { CliError } from '../errors.js'
import { formatP, oneIn } from '../format.js'
import { readInput } from '../io.js'
import { loadKey, resolveTokenizer } from '../load.js'
import type { DetectOptions } from '../commands/detect.js'

/** The JSON shape of a detection, shared by `--json`, `--jsonl` and the server's detect route. */
export function detectionJson(r: DetectionResult): Record<string, unknown> {
  return { ...r }
}

function summary(r: DetectionResult): string {
  const verdict = r.detected ? 'WATERMARK DETECTED' : 'no watermark detected'
  const lines = [
    `${verdict}: p = ${formatP(r.log10P)} (${oneIn(r.log10P)}; log10 p = ${r.log10P.toFixed(2)}; alpha = ${r.alpha})`,
    `  key ${r.keyId} (${r.scheme} ${JSON.stringify(r.params)})${r.keysTested > 1 ? `, best of ${r.keysTested} keys, corrected` : ''}`,
    `  tokens: ${r.tokensTotal} total, ${r.tokensScored} scored, ${r.tokensSkipped.total} skipped (${r.tokensSkipped.noContext} without context, ${r.tokensSkipped.duplicate} repeated)${r.dedup ? '' : ' — de-duplication OFF'}`,
  ]
  if (r.greenCount !== undefined && r.tokensScored > 0) {
    lines.push(`  green: ${r.greenCount} of ${r.tokensScored} (${((100 * r.greenCount) / r.tokensScored).toFixed(1)}%), z = ${r.zScore.toFixed(2)}`)
  } else if (r.gSum !== undefined && r.tokensScored > 0) {
    lines.push(`  mean g: ${(r.gSum / (r.tokensScored * (r.layers ?? 1))).toFixed(4)} over ${r.layers} layers (0.5 expected), z = ${r.zScore.toFixed(2)}`)
  } else if (r.scoreSum !== undefined && r.tokensScored > 0) {
    lines.push(`  mean score: ${(r.scoreSum / r.tokensScored).toFixed(4)} (1 expected), z = ${r.zScore.toFixed(2)}`)
  }
  if (r.window) {
    lines.push(
      `  strongest span: tokens ${r.window.startToken}–${r.window.endToken}${r.window.startChar !== undefined ? ` (chars ${r.window.startChar}–${r.window.endChar})` : ''}, p = ${formatP(r.window.log10P)} corrected for ${r.window.windowsExamined} windows`,
    )
  }
  if (r.normalization && Object.values(r.normalization.changes).some((v) => v > 0)) {
    lines.push(`  normalised: ${Object.entries(r.normalization.changes).filter(([, v]) => v > 0).map(([k, v]) => `${v} ${k}`).join(', ')}`)
  }
  return lines.join('\n') + '\n'
}

export async function run(path: string, o: DetectOptions): Promise<void> {
  const { alpha } = o
  const keys: WatermarkKey[] = o.key.map(loadKey)
  const tokenizer = resolveTokenizer(o.tokenizer, o.tokenizerFile)
  const input = readInput(path)
  const run = (text: string) =>
    detect({ text, keys, tokenizer, alpha, window: o.window, dedup: o.dedup, normalize: o.normalize, marks: o.marks || o.show || o.html !== undefined })
  if (o.jsonl) {
    const lines = input.split('\n')
    lines.forEach((line, i) => {
      if (line.trim() === '') return
      let rec: unknown
      try {
        rec = JSON.parse(line)
      } catch {
        throw new CliError(`line ${i + 1}: not valid JSON`)
      }
      const r = rec as { id?: unknown; text?: unknown }
      if (rec === null || typeof rec !== 'object' || typeof r.text !== 'string') throw new CliError(`line ${i + 1}: needs a string field "text"`)
      process.stdout.write(JSON.stringify({ id: r.id ?? i + 1, ...detectionJson(run(r.text)) }) + '\n')
    })
    return
  }
  const r = run(input)
  if (o.show || o.html !== undefined) {
    const { renderTerminal, tokenView, useColour, writeHtml } = await import('../show.js')
    const view = tokenView(input, r)
    if (o.html !== undefined) writeHtml(o.html, view, path === '-' ? 'stdin' : path)
    if (o.show) process.stdout.write(renderTerminal(view, useColour(process.stdout)) + '\n')
    if (!o.marks) delete r.marks // asked for the view, not for marks in the output
  }
  process.stdout.write(o.json ? JSON.stringify(detectionJson(r)) + '\n' : summary(r))
}
