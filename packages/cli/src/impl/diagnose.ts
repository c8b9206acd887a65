/**
 * `tokenmark detect --diagnose`: when a text believed to be watermarked comes back "not detected", the usual
 * cause is a configuration mismatch between the sampler and the detector (issue 14 §4). This tries the
 * plausible alternatives — tokenizer (the key's, the one asked for, every built-in), Unicode normalisation
 * on / off, and the seeding context width h (1–4, for schemes that have one) — reports each, and corrects the
 * best p-value for every alternative tried (Bonferroni: p_corrected = min(1, m · p_min), a valid bound under any
 * dependence between the alternatives; DESIGN.md: any search over hypotheses corrects its p-value).
 *
 * The alternative widths use the same secret under another configuration (the sub-keys differ, as HKDF's info
 * carries the parameters); the secret stays in memory and is never printed.
 */
import {
  detect,
  fromBase64Url,
  getTokenizer,
  keyFromSecret,
  tokenizerNames,
  type DetectionResult,
  type Tokenizer,
  type WatermarkKey,
} from '@tokenmark/core'
import { CliError } from '../errors.js'
import { formatP, oneIn } from '../format.js'
import { readInput } from '../io.js'
import { loadKey, resolveTokenizer } from '../load.js'
import type { DetectOptions } from '../commands/detect.js'

export interface Alternative {
  tokenizer: string
  normalize: boolean
  context: number | null
  log10P: number
  tokensScored: number
}

export interface Diagnosis {
  alternatives: Alternative[]
  best: Alternative
  /** Number of alternatives tried, m. */
  tried: number
  /** log10 of min(1, m · p_best). */
  correctedLog10P: number
  detected: boolean
  alpha: number
}

/** The same secret with another context width. */
function withContext(key: WatermarkKey, context: number): WatermarkKey {
  const secret = fromBase64Url((JSON.parse(key.toKeyFile()) as { secret: string }).secret)
  if (secret === undefined) throw new CliError('the key file holds no readable secret')
  return keyFromSecret(secret, { ...key.config, params: { ...key.config.params, context } })
}

export function diagnose(text: string, key: WatermarkKey, asked: Tokenizer | undefined, alpha: number): Diagnosis {
  const tokenizers = new Map<string, Tokenizer>()
  if (asked !== undefined) tokenizers.set(asked.name, asked)
  try {
    tokenizers.set(key.config.tokenizer, getTokenizer(key.config.tokenizer))
  } catch {
    // the key names a tokenizer that is not built in (e.g. a model's tokenizer.json): only --tokenizer-file gives it
  }
  for (const name of tokenizerNames()) if (!tokenizers.has(name)) tokenizers.set(name, getTokenizer(name))
  const own = key.config.params.context
  const contexts: (number | null)[] = typeof own === 'number' ? [own, ...[1, 2, 3, 4].filter((h) => h !== own)] : [null]
  const keys = new Map<number | null, WatermarkKey>(contexts.map((h) => [h, h === null || h === own ? key : withContext(key, h)]))
  const alternatives: Alternative[] = []
  for (const [name, tokenizer] of tokenizers) {
    for (const normalize of [true, false]) {
      for (const h of contexts) {
        let r: DetectionResult
        try {
          r = detect({ text, keys: keys.get(h) as WatermarkKey, tokenizer, normalize, alpha })
        } catch {
          continue // a tokenizer that cannot encode this text is not a plausible alternative
        }
        alternatives.push({ tokenizer: name, normalize, context: h, log10P: r.log10P, tokensScored: r.tokensScored })
      }
    }
  }
  if (alternatives.length === 0) throw new CliError('no tokenizer could encode this text; give the model\'s with --tokenizer-file')
  let best = alternatives[0]
  for (const a of alternatives) if (a.log10P < best.log10P) best = a
  const m = alternatives.length
  const correctedLog10P = Math.min(0, best.log10P + Math.log10(m))
  return { alternatives, best, tried: m, correctedLog10P, detected: correctedLog10P <= Math.log10(alpha), alpha }
}

function describe(a: Alternative): string {
  return `tokenizer ${a.tokenizer}, normalise ${a.normalize ? 'on' : 'off'}${a.context === null ? '' : `, context h = ${a.context}`}`
}

export function run(path: string, o: DetectOptions): void {
  if (o.key.length !== 1) throw new CliError('--diagnose takes exactly one --key')
  if (o.jsonl) throw new CliError('--diagnose reads one text, not --jsonl')
  const key = loadKey(o.key[0])
  const d = diagnose(readInput(path), key, resolveTokenizer(o.tokenizer, o.tokenizerFile), o.alpha)
  if (o.json) {
    process.stdout.write(JSON.stringify({ keyId: key.keyId, scheme: key.scheme, ...d }) + '\n')
    return
  }
  const lines = [
    `${d.detected ? 'WATERMARK DETECTED' : 'no watermark detected'} under the best of ${d.tried} configurations: p = ${formatP(d.correctedLog10P)} ` +
      `(${oneIn(d.correctedLog10P)}), corrected for all ${d.tried} tried (alpha = ${d.alpha})`,
    `  best: ${describe(d.best)} — log10 p = ${d.best.log10P.toFixed(2)} before correction, ${d.best.tokensScored} tokens scored`,
    '',
    '  log10 p   scored  configuration',
  ]
  for (const a of [...d.alternatives].sort((x, y) => x.log10P - y.log10P)) {
    lines.push(`  ${a.log10P.toFixed(2).padStart(7)}  ${String(a.tokensScored).padStart(7)}  ${describe(a)}`)
  }
  process.stdout.write(lines.join('\n') + '\n')
}
