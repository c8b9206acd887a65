/**
 * The two halves of a sharded scan (docs/spec.md#shards): routing texts into per-shard tuple events, and
 * replaying a shard's events into its accumulator.
 *
 * A router does the per-token work of CorpusScanner.add (normalise, tokenize, PRF words, the emission
 * filter) for the texts it is given and appends each tuple, as an event, to its shard's log; a replay does
 * the per-tuple work (exclusions, de-duplication, observations) for one shard. Routing a corpus once in
 * W blocks of texts and replaying each shard's logs in block order is the single-process scan split in
 * two: tokenization and PRF run once in total, de-duplication once per shard (router + replay of one shard
 * in one process is `ShardScanner`).
 *
 * The events keep scoreTokens' order of skip rules — no context, then excluded, then outside the filter,
 * then duplicate — so counts match it exactly: the filter is decided when routing (it needs the context),
 * exclusion when replaying (the exclusion set is per shard), so a tuple outside the filter is an event
 * too (FILTERED) and counts as excluded if the shard has excluded it by then.
 *
 * Event log: u32 runs, each a header `(count << 2) | kind` followed by `count` pairs (w0, w1);
 * kind 0 SCORE, 1 FILTERED, 2 EXCLUDE.
 */
import type { Accumulator } from './accumulate.js'
import type { EmissionFilter } from './emission.js'
import { TokenmarkError } from './errors.js'
import type { NormalizeOptions } from './normalize.js'
import type { PreparedKey } from './scoring.js'
import { forEachTuple, withContext } from './scoring.js'
import { Scorer } from './scorer.js'
import { fmix32 } from './prf.js'
import { CorpusDigest, filterSha256, scanSettingsDigest } from './scan-identity.js'
import type { PartHashing } from './shard-part.js'
import type { Tokenizer } from './tokenizers/types.js'

/** The shard of tuple (w0, w1) among `count` (exact in doubles for count ≤ 2^21); (0, 0) is (0, 1) as in TupleSet.canon. */
export function shardOf(w0: number, w1: number, count: number): number {
  if (w0 === 0 && w1 === 0) w1 = 1
  return Math.floor((fmix32((w0 ^ Math.imul(w1, 0x9e3779b9)) >>> 0) * count) / 4294967296)
}

export const EVENT_SCORE = 0
export const EVENT_FILTERED = 1
export const EVENT_EXCLUDE = 2
const MAX_RUN = (1 << 30) - 1
/** Logs of at least this many words are handed over, not copied (EventLog.take). */
const MOVE_WORDS = 1 << 14

/** A growable log of one shard's event runs. */
class EventLog {
  words = new Uint32Array(64)
  length = 0
  private runAt = -1
  private runKind = -1

  push(kind: number, w0: number, w1: number): void {
    if (this.runKind !== kind || (this.words[this.runAt] >>> 2) === MAX_RUN) {
      this.reserve(3)
      this.runAt = this.length
      this.runKind = kind
      this.words[this.length++] = kind
    } else this.reserve(2)
    this.words[this.runAt] += 4
    this.words[this.length++] = w0
    this.words[this.length++] = w1
  }

  private reserve(n: number): void {
    if (this.length + n <= this.words.length) return
    const next = new Uint32Array(Math.max(2 * this.words.length, this.length + n))
    next.set(this.words.subarray(0, this.length))
    this.words = next
  }

  /**
   * The events so far; the log starts again empty. A large log hands over its buffer (a view of it) and
   * starts a new one of the same capacity, so a router that routes block after block grows its logs once
   * and copies nothing; a small one (ShardScanner takes after every text) is copied and keeps its buffer.
   */
  take(): Uint32Array {
    let out: Uint32Array
    if (this.length >= MOVE_WORDS) {
      out = this.words.subarray(0, this.length)
      this.words = new Uint32Array(this.words.length)
    } else out = this.words.slice(0, this.length)
    this.length = 0
    this.runAt = -1
    this.runKind = -1
    return out
  }
}

/** Counts that belong to positions, not tuples: the same whichever shard is asked. */
export interface RouteCounts {
  texts: number
  tokensTotal: number
  noContext: number
}

export interface RouterOptions {
  tokenizer: Tokenizer
  normalize?: boolean | NormalizeOptions
  filter?: EmissionFilter
  /** Route only these shards' events (ShardScanner keeps one); default all. */
  keep?: (shard: number) => boolean
  /** The corpus position of the first text this router is given (a block's start; default 0): the corpus digest names texts by position. */
  firstText?: number
  /** A faster SHA-256 for the corpus digest (CorpusDigest; shard-part.ts's PartHashing, as the CLI passes node:crypto's). */
  hashing?: PartHashing
  /**
   * false: no corpus digest (it stays zero) — for shards merged where they were routed and never kept as
   * parts (`scan --workers` without --parts-out), where there is no part to name and a SHA-256 per text
   * would be work for nothing. Default true.
   */
  digest?: boolean
}

/** SHA-256 of the settings routers with these options read with (scanSettingsDigest): what a reducer's part names. */
export function routerSettings(o: Pick<RouterOptions, 'tokenizer' | 'normalize' | 'filter'>): Uint8Array {
  return scanSettingsDigest({ tokenizer: o.tokenizer.name, normalize: o.normalize, filterSha256: o.filter && filterSha256(o.filter.toBytes()) })
}

/** Routes texts (with prompts) into per-shard event logs. */
export class TupleRouter {
  readonly counts: RouteCounts = { texts: 0, tokensTotal: 0, noContext: 0 }
  /** The additive digest of the texts and prompts routed (scan-identity.ts); blocks' digests add up to the corpus's. */
  corpus: CorpusDigest
  private readonly logs: EventLog[]
  private wordsScratch = new Uint32Array(0)
  /** Normalises and tokenizes exactly as the one scorer does (scorer.ts); its accumulator is unused. */
  private readonly scorer: Scorer

  constructor(
    private readonly pk: PreparedKey,
    readonly shardCount: number,
    private readonly opts: RouterOptions,
  ) {
    this.opts = { ...opts }
    this.logs = Array.from({ length: shardCount }, () => new EventLog())
    this.corpus = new CorpusDigest(opts.hashing?.sha256)
    this.scorer = new Scorer(pk.key, { tokenizer: opts.tokenizer, normalize: opts.normalize ?? true })
  }

  private prepare(text: string): Uint32Array {
    return this.scorer.encode(text)
  }

  private emit(kind: number, w0: number, w1: number): void {
    const s = shardOf(w0, w1, this.shardCount)
    if (this.opts.keep === undefined || this.opts.keep(s)) this.logs[s].push(kind, w0, w1)
  }

  /** A prompt's tuples excluded from the whole scan (CorpusScanner's `prompts`). */
  excludePrompt(prompt: string): void {
    this.excludeIds(this.prepare(prompt))
  }

  private excludeIds(ids: ArrayLike<number>, global = true): void {
    if (global && this.opts.digest !== false) this.corpus.addPrompt(ids)
    forEachTuple(this.pk, ids, (w0, w1) => this.emit(EVENT_EXCLUDE, w0, w1))
  }

  /** One sample, as scoreSample scores it: the prompt's tuples excluded and the prompt as context. */
  add(text: string, prompt?: string): void {
    let context: Uint32Array | undefined
    if (prompt !== undefined) {
      context = this.prepare(prompt)
      this.excludeIds(context, false) // named by the text's digest, as its context
    }
    this.addTokens(this.prepare(text), context)
  }

  /** Pre-tokenized ids (normalised as the scan does), with optional context ids. */
  addTokens(ids: ArrayLike<number>, context?: ArrayLike<number>): void {
    const [all, offset] = withContext(ids, context)
    const prf = this.pk.prf
    const n = ids.length
    const filter = this.opts.filter
    if (this.opts.digest !== false) this.corpus.addText((this.opts.firstText ?? 0) + this.counts.texts, ids, context)
    this.counts.texts++
    this.counts.tokensTotal += n
    const first = Math.min(n, Math.max(0, prf.need - offset))
    this.counts.noContext += first
    if (filter === undefined) {
      const m = n - first
      if (this.wordsScratch.length < 2 * m) this.wordsScratch = new Uint32Array(2 * m)
      const words = this.wordsScratch
      prf.fillWords(all, offset + first, offset + n, words)
      for (let k = 0; k < m; k++) this.emit(EVENT_SCORE, words[2 * k], words[2 * k + 1])
      return
    }
    for (let i = first; i < n; i++) {
      const pos = i + offset
      prf.setContext(all, pos)
      prf.words(all[pos])
      const w0 = prf.w0
      const w1 = prf.w1
      const [hi, lo] = prf.contextId(all, pos)
      this.emit(filter.hasContext(hi, lo) ? EVENT_SCORE : EVENT_FILTERED, w0, w1)
    }
  }

  /**
   * Starts the next block, whose first text is corpus position `firstText`: counts and corpus digest start
   * again from zero, the event logs (taken after each block) keep their capacity.
   */
  restart(firstText: number): void {
    this.opts.firstText = firstText
    this.counts.texts = 0
    this.counts.tokensTotal = 0
    this.counts.noContext = 0
    this.corpus = new CorpusDigest(this.opts.hashing?.sha256)
  }

  /** SHA-256 of the settings this router reads with (scan-identity.ts): a part names them. */
  settings(): Uint8Array {
    return routerSettings(this.opts)
  }

  /** Shard s's events since the last take (the log is emptied). */
  take(shard: number): Uint32Array {
    return this.logs[shard].take()
  }
}

let replayScratch = new Uint32Array(0)

/**
 * Applies one shard's events to its accumulator in order, with scoreTokens' skip rules; corpus-wide counts
 * (RouteCounts) are the caller's to set.
 */
export function replayEvents(acc: Accumulator, events: Uint32Array): void {
  const bad = () => new TokenmarkError('E_ACCUMULATOR_FORMAT', 'shard events are malformed')
  let o = 0
  while (o < events.length) {
    const kind = events[o] & 3
    const count = events[o] >>> 2
    o++
    if (o + 2 * count > events.length || kind > EVENT_EXCLUDE) throw bad()
    const excluded = acc.excluded.size > 0 ? acc.excluded : undefined
    if (kind === EVENT_EXCLUDE) {
      for (let k = 0; k < count; k++, o += 2) acc.excludeTuple(events[o], events[o + 1])
    } else if (kind === EVENT_FILTERED) {
      for (let k = 0; k < count; k++, o += 2) {
        if (excluded !== undefined && excluded.has(events[o], events[o + 1])) acc.skipped.excluded++
        else acc.skipped.filtered++
      }
    } else {
      if (replayScratch.length < 2 * count) replayScratch = new Uint32Array(2 * count)
      const words = replayScratch
      let m = 0
      for (let k = 0; k < count; k++, o += 2) {
        const w0 = events[o]
        const w1 = events[o + 1]
        if (excluded !== undefined && excluded.has(w0, w1)) {
          acc.skipped.excluded++
          continue
        }
        words[2 * m] = w0
        words[2 * m + 1] = w1
        m++
      }
      acc.addWords(words, m)
    }
  }
}
