/**
 * A test as a value (docs/spec.md#scorer): one key and fixed rules — normalise, tokenise with the
 * provider's tokenizer, exclude the prompts' tuples, de-duplicate, optionally keep only contexts in an
 * emission filter — folding texts into one accumulator. `detect`, the corpus test (CorpusScanner), the
 * evidence analysis and the server's cases are all folds with a Scorer; `outcome()` (outcome.ts) says
 * what the accumulator means.
 *
 * A prompt is context for its text's first tokens (never scored) and its tuples are excluded from the
 * whole test, also from texts scored before it (exclusions live in the accumulator: accumulate.ts).
 *
 * `fork()` is a cheap view for per-text or per-batch scoring: a fresh accumulator that reads this
 * scorer's exclusions live (not copied), so a text scored in a fork sees exactly the tuples the
 * corpus test sees. Merging the fork back (`merge`) equals scoring its texts here directly: score each
 * text once, in a fork, and merge, to get the per-text test and the corpus test from one pass.
 *
 * Every method is a pure function of the scorer's state and its arguments (no I/O, no clock), so a
 * worker thread can run "score this batch of samples into a delta" with a fork of its own.
 */
import { Accumulator } from './accumulate.js'
import type { WatermarkKey } from './keys.js'
import { normalizeText, normalizeWithMap, type NormalizeChanges, type NormalizeOptions, type NormalizeStep } from './normalize.js'
import { outcomeOf, type Outcome, type OutcomeOptions } from './outcome.js'
import { forEachTuple, prepareKey, scoreTokens, type ContextFilter, type PreparedKey, type TokenMarks } from './scoring.js'
import { getTokenizer } from './tokenizers/registry.js'
import type { Tokenizer } from './tokenizers/types.js'
import type { TupleFilter } from './tupleset.js'

export interface ScorerOptions {
  /** The provider's tokenizer (default: the key's, by name). */
  tokenizer?: Tokenizer
  /** Unicode normalisation before tokenizing (default on). */
  normalize?: boolean | NormalizeOptions
  /** Score each (context, token) tuple once across everything this scorer folds (default on). */
  dedup?: boolean
  /** Only tokens whose context is in this filter are scored (a provider's emission filter). */
  filter?: ContextFilter
  /** Prompts whose tuples are excluded from the whole test. */
  prompts?: readonly string[]
  /** Fold into this accumulator (of the same key) instead of a fresh one: a server case's merged state. */
  accumulator?: Accumulator
}

/** One text as the scorer read it. */
export interface ScoredText {
  /** The text after normalisation (what was tokenized). */
  text: string
  /** Its token ids. */
  ids: Uint32Array
  /** Its prompt's token ids (context for the first tokens), when it had a prompt. */
  context?: Uint32Array
  /** Offsets of `text`'s UTF-16 units in the caller's text, when asked for (`offsets: true`). */
  originalOffsets?: Uint32Array
  /** Per-token observations and skip reasons, when asked for (`marks: true`). */
  marks?: TokenMarks
}

export interface AddOptions {
  /** The prompt that produced the text: context for its first tokens; its tuples are excluded everywhere. */
  prompt?: string
  /** Return per-token marks. */
  marks?: boolean
  /** Return the normalisation's offset map (for spans in the caller's text). */
  offsets?: boolean
}

/** Normalisation steps applied and changes counted across every text a scorer read. */
export interface NormalizationLog {
  applied: NormalizeStep[]
  changes: Record<string, number>
}

/** The normalisation steps as normalization() lists them: sorted by name. */
const LOGGED_STEPS: readonly NormalizeStep[] = ['homoglyph', 'invisible', 'nfc']

export class Scorer {
  readonly key: WatermarkKey
  readonly prepared: PreparedKey
  readonly accumulator: Accumulator
  /** Texts folded in (merges add the other side's). */
  texts = 0
  #tokenizer: Tokenizer | undefined
  readonly #normalize: boolean | NormalizeOptions
  readonly #filter: ContextFilter | undefined
  /** Steps applied, one bit per entry of LOGGED_STEPS; counts of changes; whether any text was normalised. */
  #applied = 0
  readonly #changes: NormalizeChanges = { invisible: 0, nfc: 0, homoglyph: 0 }
  #logged = false

  constructor(key: WatermarkKey, opts: ScorerOptions = {}) {
    this.key = key
    this.prepared = prepareKey(key)
    this.#tokenizer = opts.tokenizer
    this.#normalize = opts.normalize ?? true
    this.#filter = opts.filter
    this.accumulator = opts.accumulator ?? new Accumulator(this.prepared, { dedup: opts.dedup ?? true })
    for (const p of opts.prompts ?? []) this.excludePrompt(p)
  }

  /** The provider's tokenizer (the key's by name unless given; resolved on first use, so scoring ids needs none). */
  get tokenizer(): Tokenizer {
    return (this.#tokenizer ??= getTokenizer(this.key.config.tokenizer))
  }

  /** A fresh accumulator's view with these rules, reading this scorer's exclusions live (see the module comment). */
  fork(): Scorer {
    const acc = this.accumulator
    const own = acc.excluded
    const parent = acc.inherited
    const inherit: TupleFilter = parent === undefined ? own : { has: (w0, w1) => own.has(w0, w1) || parent.has(w0, w1) }
    const f = new Scorer(this.key, {
      tokenizer: this.#tokenizer,
      normalize: this.#normalize,
      filter: this.#filter,
      accumulator: new Accumulator(this.prepared, { dedup: acc.dedup, inherit }),
    })
    return f
  }

  /** Normalises a text as this scorer does (logging what changed); returns the text itself when off. */
  prepare(text: string): string {
    if (this.#normalize === false) return text
    return this.#log(normalizeText(text, typeof this.#normalize === 'object' ? this.#normalize : undefined)).text
  }

  /** Normalised and tokenized. */
  encode(text: string): Uint32Array {
    return this.tokenizer.encode(this.prepare(text))
  }

  /** Excludes every tuple of a prompt from the test (also removing any already scored); returns its ids. */
  excludePrompt(prompt: string): Uint32Array {
    const ids = this.encode(prompt)
    this.excludeTokens(ids)
    return ids
  }

  /** excludePrompt for a prompt already tokenized (and normalised as this scorer does). */
  excludeTokens(ids: ArrayLike<number>): void {
    const acc = this.accumulator
    forEachTuple(this.prepared, ids, (w0, w1) => acc.excludeTuple(w0, w1))
  }

  /** Scores one text (its prompt, when given, first excluded and used as context). */
  add(text: string, opts: AddOptions = {}): ScoredText {
    const context = opts.prompt !== undefined ? this.excludePrompt(opts.prompt) : undefined
    let norm = text
    let originalOffsets: Uint32Array | undefined
    if (this.#normalize !== false) {
      const nopts = typeof this.#normalize === 'object' ? this.#normalize : undefined
      if (opts.offsets) {
        const m = this.#log(normalizeWithMap(text, nopts))
        norm = m.text
        originalOffsets = m.originalOffsets
      } else norm = this.#log(normalizeText(text, nopts)).text
    }
    const ids = this.tokenizer.encode(norm)
    const marks = this.addTokens(ids, context, opts.marks)
    // Fields added when present rather than spread from conditional literals (this runs per text scored).
    const out: ScoredText = { text: norm, ids }
    if (context) out.context = context
    if (originalOffsets) out.originalOffsets = originalOffsets
    if (marks) out.marks = marks
    return out
  }

  /** Scores token ids (with optional prompt ids as context, which the caller has excluded). */
  addTokens(ids: ArrayLike<number>, context?: ArrayLike<number>, marks?: boolean): TokenMarks | undefined {
    this.texts++
    return scoreTokens(this.prepared, ids, this.accumulator, { context, filter: this.#filter, marks })
  }

  /** Folds another scorer's evidence in (a fork of this one, or a shard of the same corpus and key). */
  merge(other: Scorer): this {
    this.accumulator.merge(other.accumulator)
    this.texts += other.texts
    this.#applied |= other.#applied
    this.#addChanges(other.#changes)
    this.#logged ||= other.#logged
    return this
  }

  /** What the accumulated evidence means. */
  outcome(opts: OutcomeOptions = {}): Outcome {
    return outcomeOf(this.accumulator, opts)
  }

  /** Normalisation steps applied and changes counted so far (sorted, for stable output). */
  normalization(): NormalizationLog {
    const applied: NormalizeStep[] = []
    for (let i = 0; i < LOGGED_STEPS.length; i++) if (this.#applied & (1 << i)) applied.push(LOGGED_STEPS[i])
    const c = this.#changes
    // Keys in sorted order, all three once any text was normalised (normalizeText counts every step).
    return { applied, changes: this.#logged ? { homoglyph: c.homoglyph, invisible: c.invisible, nfc: c.nfc } : {} }
  }

  // Fixed fields rather than a Set and a keyed record: this runs for every text detected, and the
  // entries/sort/fromEntries of the general form cost about as much as scoring a short text (issue 12).
  #log<T extends { applied: NormalizeStep[]; changes: NormalizeChanges }>(r: T): T {
    for (const a of r.applied) this.#applied |= 1 << LOGGED_STEPS.indexOf(a)
    this.#addChanges(r.changes)
    this.#logged = true
    return r
  }

  #addChanges(c: NormalizeChanges): void {
    this.#changes.invisible += c.invisible
    this.#changes.nfc += c.nfc
    this.#changes.homoglyph += c.homoglyph
  }
}

/**
 * Scores one batch of samples into a fork of `scorer` (the delta), leaving `scorer` untouched: a pure
 * function of (scorer state, samples), so a worker thread holding its own Scorer can run it. Merge
 * the delta into the case's scorer to commit it. Returns each sample's token count.
 */
export function scoreBatch(scorer: Scorer, samples: readonly { text: string; prompt?: string }[]): { delta: Scorer; tokens: number[] } {
  const delta = scorer.fork()
  const tokens = samples.map((s) => delta.add(s.text, s.prompt !== undefined ? { prompt: s.prompt } : {}).ids.length)
  return { delta, tokens }
}
