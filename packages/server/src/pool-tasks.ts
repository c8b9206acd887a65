/**
 * What the work pool's workers do (detect-pool.ts), one function for a worker thread and for the inline
 * fallback alike: detection of a chunk of texts, scoring of a chunk of case samples, or a case's evidence bundle.
 */
import type { WatermarkKey } from '@tokenmark/core'
import { scoreCaseChunk, type ScoreOptions } from './case-scoring.js'
import { detectResultsJson } from './detect-reply.js'
import { buildEvidence, type EvidenceTask } from './evidence-build.js'

export interface DetectRunOptions {
  alpha?: number
  window?: boolean
  dedup?: boolean
  normalize?: boolean
  marks?: boolean
}

/** A key a task names: `ref` identifies it within the server (tenant + key id). */
export interface KeyRef {
  ref: string
  key: WatermarkKey
}

export type Task =
  | { kind: 'detect'; keys: KeyRef[]; texts: string[]; options: DetectRunOptions }
  | { kind: 'score'; keys: KeyRef[]; options: ScoreOptions; samples: { text: string; prompt?: string }[] }
  | ({ kind: 'bundle'; keys: KeyRef[] } & EvidenceTask)

/** A task as posted to a worker: keys by reference, the key file sent only the first time. */
export type WireTask = Omit<Task, 'keys'> & { id: number; keys: { ref: string; file?: string }[] }

export type WorkerReply = { id: number; result: unknown; error?: undefined } | { id: number; error: { name: string; code?: string; message: string }; result?: undefined }

/** Runs a task with its keys resolved; the result crosses back to the event loop by structured clone. */
export function runTask(task: Omit<Task, 'keys'>, ring: WatermarkKey[]): unknown {
  switch (task.kind) {
    case 'detect': {
      const t = task as Extract<Task, { kind: 'detect' }>
      // The JSON of the chunk's results joined by commas: a reply is these joined (detect-pool.ts, run).
      return detectResultsJson(ring, t.texts, t.options)
    }
    case 'score': {
      const t = task as Extract<Task, { kind: 'score' }>
      return scoreCaseChunk(ring[0], t.options, t.samples)
    }
    case 'bundle':
      return buildEvidence(ring[0], task as unknown as EvidenceTask)
  }
}
