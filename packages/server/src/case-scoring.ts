/**
 * Scoring a batch of case samples, off the event loop (issue 12: a 120 KB sample scored on the event
 * loop stalled every route for 10 s). cases.ts calls scoreBatchOffLoop, the one place that decides where
 * the work runs; the pool's workers (and its inline fallback) call scoreCaseChunk, the one place that
 * decides what the work is: core's Scorer folding a chunk into a fresh accumulator, as the corpus test does.
 */
import { Accumulator, prepareKey, Scorer, type WatermarkKey } from '@tokenmark/core'
import type { DetectPool } from './detect-pool.js'

export interface ScoreOptions {
  dedup: boolean
  normalize: boolean
  /**
   * Accumulator bytes the batch starts from: the case's exclusions, for a case without de-duplication
   * (whose exclusions cannot reach back into merged evidence, see cases.ts). Absent otherwise.
   */
  seed?: Uint8Array
}

export interface ScoredBatch {
  /** The batch's own accumulator (to merge into the case's). */
  delta: Accumulator
  /** Tokens of each sample's text, in input order. */
  tokens: number[]
}

/** Samples per pool task when chunks may be scored apart (a de-duplicating case): bounds one task's time. */
const CHUNK = 32

/**
 * Scores samples into one accumulator (runs in a pool worker, or inline): core's Scorer folding each
 * sample (its prompt excluded and used as context), exactly as the corpus test does.
 */
export function scoreCaseChunk(key: WatermarkKey, opts: ScoreOptions, samples: readonly { text: string; prompt?: string }[]): { delta: Uint8Array; tokens: number[] } {
  const pk = prepareKey(key)
  const accumulator = opts.seed ? Accumulator.fromBytes(opts.seed, pk) : new Accumulator(pk, { dedup: opts.dedup })
  const scorer = new Scorer(key, { normalize: opts.normalize, accumulator })
  const tokens = samples.map((s) => scorer.add(s.text, s.prompt !== undefined ? { prompt: s.prompt } : {}).ids.length)
  return { delta: accumulator.toBytes(), tokens }
}

/**
 * Scores a batch on the pool, queued fairly with the tenant's other work and abandoned at `deadline`.
 * With de-duplication the batch is split into chunks whose accumulators merge to the same evidence as
 * one accumulator over the whole batch (merge(a, b) equals scoring a's and b's inputs together: core,
 * accumulate.ts); without it, exclusions cannot reach back across chunks, so it is one task.
 */
export async function scoreBatchOffLoop(
  pool: DetectPool,
  tenantId: string,
  key: WatermarkKey,
  opts: ScoreOptions,
  samples: readonly { text: string; prompt?: string }[],
  deadline: number,
): Promise<ScoredBatch> {
  const pk = prepareKey(key)
  const size = opts.dedup ? CHUNK : Math.max(1, samples.length)
  const chunks: { text: string; prompt?: string }[][] = []
  for (let i = 0; i < samples.length; i += size) chunks.push(samples.slice(i, i + size))
  const ref = { ref: `${tenantId}\0${key.keyId}`, key }
  const parts = await pool.runAll(
    tenantId,
    chunks.map((c) => ({ kind: 'score' as const, keys: [ref], options: opts, samples: c })),
    deadline,
  )
  const delta = new Accumulator(pk, { dedup: opts.dedup })
  const tokens: number[] = []
  for (const p of parts as { delta: Uint8Array; tokens: number[] }[]) {
    delta.merge(Accumulator.fromBytes(p.delta, pk))
    for (const t of p.tokens) tokens.push(t)
  }
  return { delta, tokens }
}
