/** What `tokenmark scan` does; commands/scan.ts declares its flags and loads this module only when it runs. */
import { CorpusScanner, parseShardSpec, ShardScanner, TokenmarkError } from '@tokenmark/core'
import { describeInput, readCorpus, type CorpusFormat, type SplitMode } from '../corpus.js'
import { CliError } from '../errors.js'
import { loadFilter, loadKey, resolveTokenizer } from '../load.js'
import { nothingScored, scanJson, scanSummary } from './scan-print.js'

export { nothingScored, scanJson, scanSummary }

/** `scan`'s options once checked. */
export interface ScanOptions {
  key: string
  prompts?: string
  filter?: string
  format: CorpusFormat
  split: SplitMode
  tokenizer?: string
  alpha: number
  dedup: boolean
  normalize: boolean
  progress: boolean
  json?: boolean
  /** One shard by hand: `i/S`, written to `out` (a .tmacc part). */
  shard?: string
  out?: string
  /** All shards through the job queue on `db` (PostgreSQL), run by `tokenmark worker` processes. */
  shards?: number
  db?: string
  /** All shards on this many threads of this process (scan-threads.ts). */
  workers?: number
  /** With `shards` or `workers`: a folder the merged parts are written to. */
  partsOut?: string
  shardTimeout: number
}

function progressBar(total: number): { add(tokens: number): void; done(): void } {
  const tty = process.stderr.isTTY === true
  let texts = 0
  let tokens = 0
  let last = 0
  const draw = () => {
    const frac = total > 0 ? Math.min(1, texts / total) : 0
    const w = 30
    const fill = Math.round(frac * w)
    process.stderr.write(`\r[${'#'.repeat(fill)}${'.'.repeat(w - fill)}] ${(100 * frac).toFixed(0).padStart(3)}%  ${texts} texts  ${tokens.toLocaleString('en-US')} tokens`)
  }
  return {
    add(t) {
      texts++
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

export async function run(paths: string[], o: ScanOptions): Promise<void> {
  // --shards streams the corpus into the database as it reads it (scan-queued.ts).
  if (o.shards !== undefined) return (await import('./scan-queued.js')).runQueued(paths, o)
  const corpus = readCorpus(paths, { format: o.format, split: o.split, prompts: o.prompts })
  const key = loadKey(o.key)
  const tokenizer = resolveTokenizer(o.tokenizer, undefined)
  const filter = o.filter !== undefined ? loadFilter(o.filter) : undefined
  let scanner: CorpusScanner | ShardScanner
  try {
    const opts = { tokenizer, prompts: corpus.prompts, filter, alpha: o.alpha, dedup: o.dedup, normalize: o.normalize }
    scanner = o.shard !== undefined ? new ShardScanner(key, parseShardSpec(o.shard), opts) : new CorpusScanner(key, opts)
  } catch (e) {
    if (e instanceof TokenmarkError) throw new CliError(e.message)
    throw e
  }
  const bar = progressBar(o.progress ? corpus.items.length : 0)
  for (const it of corpus.items) {
    const before = scanner.accumulator.tokensTotal
    scanner.add(it.text, it.prompt !== undefined ? { prompt: it.prompt } : {})
    bar.add(scanner.accumulator.tokensTotal - before)
  }
  if (o.progress) bar.done()
  if (scanner instanceof ShardScanner) return (await import('./shard-part.js')).writePart(scanner, o.out as string, o.json === true)
  const r = scanner.result()
  if (r.tokensScored === 0) throw nothingScored(r.tokensTotal, 'the corpus')
  process.stdout.write(o.json ? JSON.stringify(scanJson(r, corpus.input)) + '\n' : `${describeInput(corpus.input)}\n${scanSummary(r)}`)
}
