/**
 * The contexts a generation has already used, for the repeated-context rule (docs/spec.md#repeated-contexts).
 * A scheme whose embed step draws no randomness besides the key's (Gumbel) returns the same token whenever a
 * context and its logits repeat, so one repetition becomes a loop. Like SynthID-Text's context history
 * (Dathathri et al. 2024, Methods, "repeated context masking"), such a scheme samples plainly on a context
 * already used in the same generation. The detector's de-duplication scores each (context, token) tuple
 * once, so those positions carried no evidence anyway.
 *
 * Contexts are identified by their keyed context id (KeyedPrf.contextId: SipHash of the previous tokens the
 * seeding rule reads). Two distinct contexts share an id with probability 2^-64; the only effect would be
 * one more plainly sampled token. A generation is a sequence of calls whose context grows by exactly one
 * token per call; any other call starts a new generation, so a sampler reused across requests starts over.
 */
import type { KeyedPrf } from './seeding.js'
import { TupleSet } from './tupleset.js'

export class ContextHistory {
  private seen = new TupleSet(64)
  private lastLength = -1

  /**
   * Called once per embed step with the full context (prompt and generated tokens). True when the position
   * may be watermarked: it has enough context and its context was not used earlier in this generation.
   * Leaves `prf` set to this context when it returns true.
   */
  firstUse(prf: KeyedPrf, context: Uint32Array): boolean {
    const n = context.length
    if (n !== this.lastLength + 1 && this.seen.size > 0) this.seen = new TupleSet(64)
    this.lastLength = n
    if (n < prf.need) return false
    prf.setContext(context, n)
    const [hi, lo] = prf.contextId(context, n)
    return this.seen.add(hi, lo)
  }
}
