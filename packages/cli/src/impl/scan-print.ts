/**
 * How a corpus scan's result is printed (`scan`, and merged from shard parts by `merge`, `scan --shards` and
 * `scan --workers`). It imports no part of core at run time: `scan --workers` prints from its main thread,
 * which never loads core (scan-threads.ts).
 */
import type { CorpusResult, ShardedResult } from '@tokenmark/core'
import { describeInput, type InputDescription } from '../corpus.js'
import { CliError } from '../errors.js'
import { formatP, oneIn } from '../format.js'

/** The fields `scan --json` prints: core's CorpusResult as it is (the Outcome and the corpus named), and how the input was read. */
export function scanJson(r: CorpusResult, input?: InputDescription): Record<string, unknown> {
  return { ...r, ...(input ? { input } : {}) }
}

export function scanSummary(r: CorpusResult): string {
  const verdict = !r.valid ? 'NOT A VALID TEST (de-duplication off)' : r.detected ? 'WATERMARK DETECTED' : 'no watermark detected'
  const s = r.tokensSkipped
  return (
    [
      `${verdict} in the corpus: p = ${formatP(r.log10P)} (${oneIn(r.log10P)}; log10 p = ${r.log10P.toFixed(2)}; alpha = ${r.alpha})`,
      `  e-value ${formatP(r.log10E)}${r.anytimeValid ? ' (anytime-valid: reject at level a once it exceeds 1/a)' : ' (not anytime-valid: the test is not valid)'}`,
      `  key ${r.keyId} (${r.scheme}); ${r.texts} texts`,
      `  tokens: ${r.tokensTotal} seen, ${r.tokensScored} scored, ${s.duplicate} repeated, ${s.excluded} in prompts, ${s.filtered} outside the emission filter${r.filter ? '' : ' (no filter)'}`,
      `  tokens needed for p < 1e-6 at the observed effect: ${r.tokensNeeded ?? '— (no positive effect)'}`,
      ...r.warnings.map((w) => `  warning: ${w}`),
    ].join('\n') + '\n'
  )
}

/** No token could be scored: an error, never "p = 1" (issue 11 §6). */
export function nothingScored(tokensTotal: number, what: string): CliError {
  return new CliError(
    tokensTotal === 0
      ? `${what} has no tokens: no text to test`
      : `no token of ${what} could be scored (${tokensTotal} tokens, all without context, repeated, in prompts or outside the filter)`,
  )
}

/** The merged result as `scan` prints it (with how the corpus was read, when the caller read it). */
export function printMerged(r: ShardedResult, json: boolean, input?: InputDescription): void {
  process.stdout.write(
    json
      ? JSON.stringify({ ...scanJson(r, input), shards: r.shards }) + '\n'
      : (input ? `${describeInput(input)}\n` : '') + scanSummary(r) + `  merged from ${r.shards.count} shard${r.shards.count === 1 ? '' : 's'}; Merkle root of the parts' SHA-256: ${r.shards.merkleRoot}\n`,
  )
}

/**
 * The result of `scan --workers N` that kept no part: what `scan` prints, and the shard count (JSON
 * `shards: {count}`; no hashes or Merkle root, as no part exists to be named — --parts-out keeps them).
 */
export function printSplit(r: CorpusResult, shards: number, json: boolean, input?: InputDescription): void {
  process.stdout.write(
    json
      ? JSON.stringify({ ...scanJson(r, input), shards: { count: shards } }) + '\n'
      : (input ? `${describeInput(input)}\n` : '') + scanSummary(r) + `  added up from ${shards} shard${shards === 1 ? '' : 's'} on as many threads (no parts kept: --parts-out writes them with their Merkle root)\n`,
  )
}
