/** What `tokenmark bench` does. Its options type lives here; commands/bench.ts declares the flags and loads this module only when it runs. */
import { createAccumulator, detect, generateKey, getTokenizer, prepareKey, scoreTokens, type SchemeId, type WatermarkKey } from '@tokenmark/core'
import { corpusPart } from '@tokenmark/lab'
import { CliError } from '../errors.js'
import { readInput } from '../io.js'
import { loadKey, resolveTokenizer } from '../load.js'
import { compare, timeIt } from '../timing.js'

/** Options as commander parses them from the declaration below. */
export interface BenchCliOptions {
  key?: string
  scheme: string
  tokenizer?: string
  tokenizerFile?: string
  seconds: string
  json?: boolean
}

/** `bench`'s options once checked. */
export type BenchOptions = Omit<BenchCliOptions, 'seconds'> & { seconds: number }

export interface BenchResult {
  text: { source: string; chars: number; tokens: number }
  scheme: string
  params: Record<string, unknown>
  tokenizer: string
  /** detect({ text }) with the defaults (normalisation and de-duplication on), characters per second. */
  detectCharsPerSecond: number
  /** The tokenizer's encode alone on the same text, characters per second. */
  encodeCharsPerSecond: number
  /** detect throughput / encode throughput (1 would mean detection costs nothing beyond tokenizing). */
  detectOverEncode: number
  /** Scoring the text's token ids into a fresh accumulator (de-duplication on), tokens per second. */
  scoreTokensPerSecond: number
}

/** 60,000 characters from the middle of Moby-Dick's held-out chapters: English prose with typographic punctuation. */
function defaultText(): string {
  const book = corpusPart('heldout').join('\n\n')
  const start = Math.max(0, Math.min(50_000, book.length - 60_000))
  return book.slice(start, start + 60_000)
}

export function measure(text: string, key: WatermarkKey, tokenizerName: string | undefined, tokenizerFile: string | undefined, seconds: number, source: string): BenchResult {
  const tokenizer = resolveTokenizer(tokenizerName, tokenizerFile) ?? getTokenizer(key.config.tokenizer)
  const ids = tokenizer.encode(text)
  if (ids.length < 2) throw new CliError('the text is too short to measure: give at least a sentence')
  // Two measurements of five alternating rounds each; each round runs for minMs.
  const minMs = (seconds * 1000) / 15
  const [td, te] = compare(() => detect({ text, keys: key, tokenizer }), () => tokenizer.encode(text), { rounds: 5, minMs })
  const pk = prepareKey(key)
  const ts = timeIt(() => scoreTokens(pk, ids, createAccumulator(key)), { rounds: 5, minMs })
  return {
    text: { source, chars: text.length, tokens: ids.length },
    scheme: key.scheme,
    params: { ...key.config.params },
    tokenizer: tokenizer.name,
    detectCharsPerSecond: text.length / td,
    encodeCharsPerSecond: text.length / te,
    detectOverEncode: te / td,
    scoreTokensPerSecond: ids.length / ts,
  }
}

const fmt = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0))

export function run(path: string | undefined, o: BenchOptions): void {
  const key = o.key !== undefined ? loadKey(o.key) : generateKey({ scheme: o.scheme as SchemeId })
  const text = path !== undefined ? readInput(path) : defaultText()
  const source = path === undefined ? 'Moby-Dick (60,000 characters)' : path === '-' ? 'stdin' : path
  const r = measure(text, key, o.tokenizer, o.tokenizerFile, o.seconds, source)
  if (o.json) {
    process.stdout.write(JSON.stringify(r) + '\n')
    return
  }
  process.stdout.write(
    [
      `text: ${r.text.source}, ${r.text.chars} characters, ${r.text.tokens} tokens (${r.tokenizer})`,
      `key: ${r.scheme} ${JSON.stringify(r.params)}${o.key === undefined ? ' (throwaway)' : ''}`,
      `detect end to end   ${fmt(r.detectCharsPerSecond)} chars/s`,
      `tokenizer alone     ${fmt(r.encodeCharsPerSecond)} chars/s`,
      `detect / tokenizer  ${r.detectOverEncode.toFixed(3)}×`,
      `scoring token ids   ${fmt(r.scoreTokensPerSecond)} tokens/s`,
      'medians of alternating rounds; run it twice on a busy machine',
    ].join('\n') + '\n',
  )
}
