/**
 * Streams probe samples into a case of a tokenmark server (`POST /v1/cases/:id/samples`). Each sample's
 * idempotency key is its id, so sending a sample twice — after a resumed probe, or a retried batch — never
 * counts it twice. A replay sample (`--replay LOG`) carries the key that served its prompt as `served`, which
 * a case bound to that key schedule scores it under (and a case tested against one key refuses).
 */
import { CliError } from '../errors.js'
import type { ProbeSample } from './files.js'
import { NetworkError, withRetries } from './client.js'

export interface CaseSinkOptions {
  server: string
  caseId: string
  token: string
  /** Samples per request (default 50; the server takes up to 1000). */
  batch?: number
  onRetry?: (why: string, delayMs: number) => void
}

export interface CaseSummary {
  samples: number
  tokensScored: number
  result: { pValue: number; log10P: number; detected: boolean }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Headers,
  ) {
    super(message)
  }
}

export class CaseSink {
  private pending: ProbeSample[] = []
  /** Flushes run one at a time: concurrent probe workers share this sink. */
  private chain: Promise<void> = Promise.resolve()
  private readonly batch: number
  private readonly url: string
  sent = 0
  duplicates = 0
  last: CaseSummary | undefined

  constructor(private readonly o: CaseSinkOptions) {
    this.batch = o.batch ?? 50
    this.url = `${o.server.replace(/\/+$/, '')}/v1/cases/${encodeURIComponent(o.caseId)}/samples`
  }

  /** Queues a sample; sends a batch when one is full. */
  async add(s: ProbeSample, signal: AbortSignal): Promise<void> {
    this.pending.push(s)
    if (this.pending.length >= this.batch) await this.flush(signal)
  }

  flush(signal: AbortSignal): Promise<void> {
    const run = this.chain.then(() => this.drain(signal))
    this.chain = run.catch(() => undefined)
    return run
  }

  private async drain(signal: AbortSignal): Promise<void> {
    while (this.pending.length > 0) {
      // Take the batch out before sending, so a flush never drops samples another flush queued meanwhile;
      // on failure they go back to the front (the server de-duplicates by idempotency key anyway).
      const batch = this.pending.splice(0, this.batch)
      const body = JSON.stringify({
        samples: batch.map((s) => ({
          text: s.text,
          prompt: s.prompt,
          idempotencyKey: s.id,
          source: { model: s.model, endpoint: s.endpoint, time: s.time, requestId: s.requestId, sampleId: s.id, ...(s.seq !== undefined ? { logSeq: s.seq } : {}) },
          ...(s.keyId !== undefined ? { served: { keyId: s.keyId } } : {}),
        })),
      })
      let r: { accepted: number; duplicates: number; case: CaseSummary }
      try {
        r = await withRetries(() => this.post(body, signal), signal, undefined, this.o.onRetry)
      } catch (e) {
        this.pending.unshift(...batch)
        throw e
      }
      this.sent += r.accepted
      this.duplicates += r.duplicates
      this.last = r.case
    }
  }

  private async post(body: string, signal: AbortSignal): Promise<{ accepted: number; duplicates: number; case: CaseSummary }> {
    let res: Response
    try {
      res = await fetch(this.url, { method: 'POST', body, signal, headers: { 'content-type': 'application/json', authorization: `Bearer ${this.o.token}` } })
    } catch (e) {
      if (signal.aborted) throw e
      throw new NetworkError(`cannot reach ${this.o.server}: ${(e as Error).message}`)
    }
    const json = (await res.json().catch(() => ({}))) as { error?: { message?: string } }
    if (res.status === 429 || res.status >= 500) throw new HttpError(res.status, json.error?.message ?? res.statusText, res.headers)
    if (!res.ok) throw new CliError(`server ${this.o.server} refused the samples (HTTP ${res.status}): ${json.error?.message ?? res.statusText}`)
    return json as unknown as { accepted: number; duplicates: number; case: CaseSummary }
  }
}
