/** What `tokenmark scan` does. Its options are declared in commands/scan.ts; this module loads only when it runs. */
import { createReadStream, statSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { CorpusScanner, parseShardSpec, ShardScanner, TokenmarkError, type CorpusResult } from '@tokenmark/core'
import { CliError } from '../errors.js'
import { formatP, oneIn } from '../format.js'
import { readPromptsJsonl } from '../io.js'
import { loadFilter, loadKey, resolveTokenizer } from '../load.js'
import type { ScanOptions } from '../commands/scan.js'

/** The fields `scan --json` prints (and `lab distill --json`, with rho). */
export function scanJson(r: CorpusResult): Record<string, unknown> {
  return {
    pValue: r.pValue,
    log10P: r.log10P,
    eValue: r.eValue,
    log10E: r.log10E,
    tokensSeen: r.tokensSeen,
    tokensScored: r.tokensScored,
    tokensExcluded: r.tokensExcluded,
    tokensFiltered: r.tokensFiltered,
    tokensDuplicate: r.tokensDuplicate,
    tokensNeeded: r.tokensNeeded,
    texts: r.texts,
    detected: r.detected,
    alpha: r.alpha,
    dedup: r.dedup,
    filter: r.filter,
    scheme: r.scheme,
    keyId: r.keyId,
  }
}

export function scanSummary(r: CorpusResult): string {
  return (
    [
      `${r.detected ? 'WATERMARK DETECTED' : 'no watermark detected'} in the corpus: p = ${formatP(r.log10P)} (${oneIn(r.log10P)}; log10 p = ${r.log10P.toFixed(2)}; alpha = ${r.alpha})`,
      `  e-value ${formatP(r.log10E)} (anytime-valid: reject at level a once it exceeds 1/a)`,
      `  key ${r.keyId} (${r.scheme}); ${r.texts} texts`,
      `  tokens: ${r.tokensSeen} seen, ${r.tokensScored} scored, ${r.tokensDuplicate} repeated, ${r.tokensExcluded} in prompts, ${r.tokensFiltered} outside the emission filter${r.filter ? '' : ' (no filter)'}`,
      `  tokens needed for p < 1e-6 at the observed effect: ${r.tokensNeeded ?? '— (no positive effect)'}`,
    ].join('\n') + '\n'
  )
}

/** Streams one corpus file as texts: JSONL lines' `text` fields, or a text file's paragraphs (blank-line separated). */
export async function* readTexts(path: string, format: 'jsonl' | 'text', onBytes: (n: number) => void): AsyncGenerator<string> {
  const stream = path === '-' ? process.stdin : createReadStream(path)
  stream.on('data', (chunk: Buffer | string) => onBytes(typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length))
  const lines = createInterface({ input: stream, crlfDelay: Infinity })
  let para: string[] = []
  let lineNo = 0
  try {
    for await (const line of lines) {
      lineNo++
      if (format === 'jsonl') {
        if (line.trim() === '') continue
        let rec: unknown
        try {
          rec = JSON.parse(line)
        } catch {
          throw new CliError(`${path} line ${lineNo}: not valid JSON`)
        }
        const t = (rec as { text?: unknown } | null)?.text
        if (typeof t !== 'string') throw new CliError(`${path} line ${lineNo}: needs a string field "text"`)
        yield t
      } else if (line.trim() === '') {
        if (para.length > 0) yield para.join('\n')
        para = []
      } else para.push(line)
    }
  } catch (e) {
    if (e instanceof CliError) throw e
    throw new CliError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
  if (para.length > 0) yield para.join('\n')
}

function progressBar(total: number): { add(bytes: number, tokens: number): void; done(): void } {
  const tty = process.stderr.isTTY === true
  let bytes = 0
  let tokens = 0
  let last = 0
  const draw = () => {
    const frac = total > 0 ? Math.min(1, bytes / total) : 0
    const w = 30
    const fill = Math.round(frac * w)
    process.stderr.write(`\r[${'#'.repeat(fill)}${'.'.repeat(w - fill)}] ${(100 * frac).toFixed(0).padStart(3)}%  ${(bytes / 1e6).toFixed(1)} MB  ${tokens.toLocaleString('en-US')} tokens`)
  }
  return {
    add(b, t) {
      bytes += b
      tokens += t
      const now = Date.now()
      if (tty && now - last > 100) {
        last = now
        draw()
      }
    },
    done() {
      if (tty) {
        draw()
        process.stderr.write('\n')
      }
    },
  }
}

export async function run(corpus: string[], o: ScanOptions): Promise<void> {
  if (o.shards !== undefined) return (await import('./scan-queued.js')).runQueued(corpus, o)
  const { alpha } = o
  const key = loadKey(o.key)
  const tokenizer = resolveTokenizer(o.tokenizer, undefined)
  const filter = o.filter !== undefined ? loadFilter(o.filter) : undefined
  const prompts = o.prompts !== undefined ? readPromptsJsonl(o.prompts).map((p) => p.prompt) : []
  let scanner: CorpusScanner | ShardScanner
  try {
    const opts = { tokenizer, prompts, filter, alpha, dedup: o.dedup, normalize: o.normalize }
    scanner = o.shard !== undefined ? new ShardScanner(key, parseShardSpec(o.shard), opts) : new CorpusScanner(key, opts)
  } catch (e) {
    if (e instanceof TokenmarkError) throw new CliError(e.message)
    throw e
  }
  let total = 0
  for (const p of corpus) {
    if (p === '-') continue
    try {
      total += statSync(p).size
    } catch (e) {
      throw new CliError(`cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`)
    }
  }
  const bar = progressBar(o.progress ? total : 0)
  for (const p of corpus) {
    const format = o.format === 'auto' ? (/\.(jsonl|ndjson)$/i.test(p) ? 'jsonl' : 'text') : o.format
    for await (const text of readTexts(p, format, (n) => o.progress && bar.add(n, 0))) {
      const before = scanner.accumulator.tokensTotal
      scanner.add(text)
      if (o.progress) bar.add(0, scanner.accumulator.tokensTotal - before)
    }
  }
  if (o.progress) bar.done()
  if (scanner instanceof ShardScanner) return (await import('./shard-part.js')).writePart(scanner, o.out as string, o.json === true)
  const r = scanner.result()
  process.stdout.write(o.json ? JSON.stringify(scanJson(r)) + '\n' : scanSummary(r))
}
