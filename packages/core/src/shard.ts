/**
 * Sharded exact scans (docs/spec.md#shards).
 *
 * The (key, context, token) tuple space is partitioned by the tuple's PRF value: tuple (w0, w1) belongs to
 * shard ⌊fmix32(w0 ⊕ (w1·0x9E3779B9 mod 2^32))·S / 2^32⌋ (shardOf). Every shard reads the whole corpus (same tokenizer, prompts, filter and order) but
 * keeps only its own tuples, so it de-duplicates exactly on its own: whether an occurrence is scored,
 * a duplicate or excluded depends only on earlier events of the same tuple, which all fall in the same
 * shard and in the same order. Hence per-tuple counts (scored, duplicate, excluded) and the statistic add
 * up over shards to the single-process values, and the corpus-wide counts (tokens seen, no context,
 * texts) are the same in every shard and are taken once — their agreement is
 * checked, so parts of different corpora do not merge. (Tokens outside the emission filter are per tuple:
 * such a tuple counts as excluded when its shard has excluded it, as in scoreTokens.) The Gamma statistic is an exact sum
 * (stats/exactsum.ts), so the merged result is the single-process one bit for bit.
 *
 * Why a mix of both words: watermarked text over-represents tuples with large w0 (w0 carries the green
 * bit and the Gumbel uniform), so w0 alone would put most of a watermarked corpus in one shard; and
 * TupleSet homes a tuple by w1's low bits, which must stay uniform within a shard. Memory per shard is
 * the de-duplication set of about 1/S of the distinct tuples.
 *
 * A shard's part travels as `.tmacc` bytes with its summary (shard-part.ts); a merge adds the summaries and
 * records the parts' hashes and their Merkle root (RFC 6962 §2.1), so evidence can name exactly what was merged.
 */
import { Accumulator } from './accumulate.js'
import { toHex } from './bytes.js'
import type { CorpusOptions } from './corpus.js'
import { TokenmarkError } from './errors.js'
import type { WatermarkKey } from './keys.js'
import { CorpusDigest } from './scan-identity.js'
import { prepareKey, type PreparedKey } from './scoring.js'
import { replayEvents, shardOf, TupleRouter, type RouteCounts } from './shard-route.js'
import { getTokenizer } from './tokenizers/registry.js'
import type { Tokenizer } from './tokenizers/types.js'

/** Shard `index` of `count` (0 ≤ index < count ≤ MAX_SHARDS). */
export interface ShardSpec {
  index: number
  count: number
}

export const MAX_SHARDS = 65536

export { shardOf }


export function checkSpec(s: ShardSpec): void {
  if (!(Number.isInteger(s.count) && s.count >= 1 && s.count <= MAX_SHARDS)) throw new TokenmarkError('E_BAD_PARAM', `shard count must be an integer in [1, ${MAX_SHARDS}]`)
  if (!(Number.isInteger(s.index) && s.index >= 0 && s.index < s.count)) throw new TokenmarkError('E_BAD_PARAM', `shard index must be an integer in [0, ${s.count - 1}]`)
}

/** "i/S" → { index: i, count: S } (the CLI's --shard form). */
export function parseShardSpec(text: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim())
  if (!m) throw new TokenmarkError('E_BAD_PARAM', `shard must be written i/S (e.g. 0/4), not "${text}"`)
  const spec = { index: Number(m[1]), count: Number(m[2]) }
  checkSpec(spec)
  return spec
}

/**
 * An accumulator that keeps only the tuples of one shard. Scoring code (scoreTokens, scoreSample) uses it
 * like any accumulator: tuples of other shards are dropped before de-duplication and counted nowhere.
 */
export class ShardAccumulator extends Accumulator {
  readonly shard: ShardSpec

  constructor(pk: PreparedKey, shard: ShardSpec) {
    super(pk, { dedup: true })
    checkSpec(shard)
    this.shard = shard
  }

  private mine(w0: number, w1: number): boolean {
    return shardOf(w0, w1, this.shard.count) === this.shard.index
  }

  override addTuple(w0: number, w1: number): number {
    return this.mine(w0, w1) ? super.addTuple(w0, w1) : NaN
  }

  override addWords(words: Uint32Array, count: number, out?: Float64Array): void {
    if (out !== undefined) {
      for (let k = 0; k < count; k++) out[k] = this.addTuple(words[2 * k], words[2 * k + 1])
      return
    }
    // Compact this shard's tuples to the front, in order (the caller's buffer is scratch).
    const { index, count: s } = this.shard
    let m = 0
    for (let k = 0; k < count; k++) {
      const w0 = words[2 * k]
      const w1 = words[2 * k + 1]
      if (shardOf(w0, w1, s) !== index) continue
      words[2 * m] = w0
      words[2 * m + 1] = w1
      m++
    }
    super.addWords(words, m)
  }

  override excludeTuple(w0: number, w1: number): void {
    if (this.mine(w0, w1)) super.excludeTuple(w0, w1)
  }
}

/** Which scan a part belongs to (scan-identity.ts): SHA-256 values, hex. */
export interface ScanIdentity {
  /** The key's public commitment (binds scheme, parameters and tokenizer). */
  commitment: string
  /** scanSettingsDigest: tokenizer, normalisation, emission filter. */
  settings: string
  /** The additive corpus digest of the texts and prompts read. */
  corpus: string
}

/** One shard's evidence: the accumulator and the number of texts read (the same in every shard). */
export interface ShardPart {
  shard: ShardSpec
  texts: number
  /** Whether an emission filter restricted the scan (every shard must agree). */
  filter: boolean
  accumulator: Accumulator
  identity: ScanIdentity
}

/**
 * The corpus test over one shard: CorpusScanner's rules, routed (shard-route.ts) and replayed at once into a
 * ShardAccumulator. Every shard of a scan must be given the same texts, prompts, filter and options in the
 * same order.
 */
export class ShardScanner {
  readonly accumulator: ShardAccumulator
  readonly tokenizer: Tokenizer
  private readonly key: WatermarkKey
  private readonly router: TupleRouter
  private readonly filter: boolean

  constructor(key: WatermarkKey, shard: ShardSpec, opts: CorpusOptions = {}) {
    if (opts.dedup === false) throw new TokenmarkError('E_BAD_PARAM', 'sharded scans partition the de-duplication set; they need de-duplication on')
    const pk = prepareKey(key)
    this.key = key
    this.tokenizer = opts.tokenizer ?? getTokenizer(key.config.tokenizer)
    this.accumulator = new ShardAccumulator(pk, shard)
    this.filter = opts.filter !== undefined
    this.router = new TupleRouter(pk, shard.count, { tokenizer: this.tokenizer, normalize: opts.normalize, filter: opts.filter, keep: (s) => s === shard.index })
    for (const p of opts.prompts ?? []) this.excludePrompt(p)
  }

  excludePrompt(prompt: string): void {
    this.router.excludePrompt(prompt)
    this.flush()
  }

  add(text: string, opts: { prompt?: string } = {}): void {
    this.router.add(text, opts.prompt)
    this.flush()
  }

  private flush(): void {
    replayEvents(this.accumulator, this.router.take(this.accumulator.shard.index))
    this.accumulator.tokensTotal = this.router.counts.tokensTotal
    this.accumulator.skipped.noContext = this.router.counts.noContext
  }

  part(): ShardPart {
    const identity = { commitment: this.key.commitment, settings: toHex(this.router.settings()), corpus: toHex(this.router.corpus.bytes()) }
    return { shard: this.accumulator.shard, texts: this.router.counts.texts, filter: this.filter, accumulator: this.accumulator, identity }
  }
}

/** One block of texts routed for one shard: its events, the block's corpus-wide counts and corpus digest (TupleRouter.corpus). */
export interface RoutedBlock {
  events: Uint32Array
  counts: RouteCounts
  /** The block's additive corpus digest, 32 bytes (router.corpus.bytes()). */
  corpus: Uint8Array
}

/**
 * A shard's part from the blocks a corpus was routed in (TupleRouter per block of texts, in corpus order):
 * the two-phase form of ShardScanner, where tokenization and PRF work is split by texts across routers and
 * de-duplication by tuples across shards. Blocks must be added in corpus order, each as soon as it is
 * routed (`scan --workers` replays while the corpus is still being routed). `settings` is the routers'
 * settings digest (TupleRouter.settings, scanSettingsDigest).
 */
export class ShardReducer {
  private readonly acc: ShardAccumulator
  private readonly corpus = new CorpusDigest()
  private texts = 0

  constructor(
    private readonly key: WatermarkKey,
    shard: ShardSpec,
    private readonly opts: { filter?: boolean; settings: Uint8Array },
  ) {
    this.acc = new ShardAccumulator(prepareKey(key), shard)
  }

  add(b: RoutedBlock): void {
    replayEvents(this.acc, b.events)
    this.acc.tokensTotal += b.counts.tokensTotal
    this.acc.skipped.noContext += b.counts.noContext
    this.texts += b.counts.texts
    this.corpus.addBytes(b.corpus)
  }

  part(): ShardPart {
    const identity = { commitment: this.key.commitment, settings: toHex(this.opts.settings), corpus: toHex(this.corpus.bytes()) }
    return { shard: this.acc.shard, texts: this.texts, filter: this.opts.filter ?? false, accumulator: this.acc, identity }
  }
}

/** ShardReducer over blocks all at hand, in corpus order. */
export function reduceShard(key: WatermarkKey, shard: ShardSpec, blocks: readonly RoutedBlock[], opts: { filter?: boolean; settings: Uint8Array }): ShardPart {
  const r = new ShardReducer(key, shard, opts)
  for (const b of blocks) r.add(b)
  return r.part()
}
