/**
 * Asking a suspect endpoint for one completion, through the official SDKs (`openai`, `@anthropic-ai/sdk`)
 * pointed at the endpoint, so the wire format is exactly the one a real client sends. The SDKs' own retries
 * are off: `withRetries` retries 5xx and network errors with exponential back-off and waits out a 429 for
 * as long as its `Retry-After` says, and reports each retry.
 */
import type AnthropicClient from '@anthropic-ai/sdk'
import type OpenAIClient from 'openai'
import { CliError } from '../errors.js'

// The SDKs load on first use: importing them costs ~0.6 s, which no other command should pay.
let sdks: { OpenAI: typeof OpenAIClient; Anthropic: typeof AnthropicClient } | undefined
async function loadSdks() {
  sdks ??= { OpenAI: (await import('openai')).default, Anthropic: (await import('@anthropic-ai/sdk')).default }
  return sdks
}

export type ProbeFormat = 'openai' | 'anthropic'
export const PROBE_FORMATS: readonly ProbeFormat[] = ['openai', 'anthropic']

export interface ClientOptions {
  format: ProbeFormat
  endpoint: string
  /** Undefined: the endpoint needs no key, and no authentication header is sent. */
  apiKey: string | undefined
  model: string
  maxTokens: number
  /** Sampling temperature sent with each request (undefined: the endpoint's default). */
  temperature?: number
  stream: boolean
  /** Per-request timeout in ms. */
  timeout: number
}

export interface Answer {
  text: string
  requestId: string | null
}

export type Ask = (prompt: string, signal: AbortSignal) => Promise<Answer>

/**
 * The SDK base URL for an endpoint: OpenAI clients address `<base>/chat/completions`, so `/v1` is added to a
 * bare host; Anthropic clients address `<base>/v1/messages`, so a trailing `/v1` is removed.
 */
export function baseUrlFor(format: ProbeFormat, endpoint: string): string {
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    throw new CliError(`--endpoint must be an http(s) URL, got "${endpoint.slice(0, 60)}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--endpoint must be an http(s) URL, got "${endpoint.slice(0, 60)}"`)
  const path = url.pathname.replace(/\/+$/, '')
  if (format === 'openai') url.pathname = path === '' ? '/v1' : path
  else url.pathname = path.replace(/\/v1$/, '') || '/'
  return url.toString().replace(/\/+$/, '')
}

export async function makeClient(o: ClientOptions): Promise<Ask> {
  const { OpenAI, Anthropic } = await loadSdks()
  const common = { baseURL: baseUrlFor(o.format, o.endpoint), maxRetries: 0, timeout: o.timeout }
  // Without a key the SDKs are told to omit their authentication headers (a null default header), instead of
  // refusing to start or reading a key from the environment on their own.
  const noAuth = o.apiKey === undefined
  if (o.format === 'openai') {
    const client = new OpenAI(noAuth ? { ...common, apiKey: 'unused', defaultHeaders: { Authorization: null } } : { ...common, apiKey: o.apiKey })
    return async (prompt, signal) => {
      const body = { model: o.model, messages: [{ role: 'user' as const, content: prompt }], max_tokens: o.maxTokens, ...(o.temperature !== undefined ? { temperature: o.temperature } : {}) }
      if (!o.stream) {
        const r = await client.chat.completions.create(body, { signal })
        return { text: r.choices[0]?.message?.content ?? '', requestId: r._request_id ?? null }
      }
      const { data: stream, request_id } = await client.chat.completions.create({ ...body, stream: true }, { signal }).withResponse()
      let text = ''
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? ''
      return { text, requestId: request_id ?? null }
    }
  }
  const client = new Anthropic(
    noAuth ? { ...common, apiKey: null, authToken: null, defaultHeaders: { 'x-api-key': null, Authorization: null } } : { ...common, apiKey: o.apiKey },
  )
  return async (prompt, signal) => {
    const body = { model: o.model, messages: [{ role: 'user' as const, content: prompt }], max_tokens: o.maxTokens, ...(o.temperature !== undefined ? { temperature: o.temperature } : {}) }
    if (!o.stream) {
      const m = await client.messages.create(body, { signal })
      return { text: m.content.map((b) => (b.type === 'text' ? b.text : '')).join(''), requestId: m._request_id ?? null }
    }
    const { data: stream, request_id } = await client.messages.create({ ...body, stream: true }, { signal }).withResponse()
    let text = ''
    for await (const e of stream) if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text
    return { text, requestId: request_id ?? null }
  }
}

export interface RetryPolicy {
  /** Attempts after the first (default 6). */
  retries: number
  /** First back-off in ms (default 500), doubled each time up to `maxDelay` (default 30 s), with ±25 % jitter. */
  baseDelay: number
  maxDelay: number
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 6, baseDelay: 500, maxDelay: 30_000 }

type SdkError = Error & { status?: number; headers?: Headers }

/** A failure to reach a server at all (the SDKs' APIConnectionError plays this part for their calls). */
export class NetworkError extends Error {}

const isNetworkError = (e: unknown) =>
  e instanceof NetworkError || (sdks !== undefined && (e instanceof sdks.OpenAI.APIConnectionError || e instanceof sdks.Anthropic.APIConnectionError))

/** Seconds (or an HTTP date) of a Retry-After header, in ms; `retry-after-ms` wins when present. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = Number(headers?.get?.('retry-after-ms'))
  if (headers?.get?.('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms
  const v = headers?.get?.('retry-after')
  if (!v) return undefined
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Number(v) * 1000
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/** Whether an error from an SDK call is worth retrying, and after how long (undefined: give up). */
function retryDelay(e: SdkError, attempt: number, p: RetryPolicy): number | undefined {
  const backoff = () => Math.min(p.maxDelay, p.baseDelay * 2 ** attempt) * (0.75 + Math.random() * 0.5)
  const status = e.status
  if (status === 429) return Math.min(retryAfterMs(e.headers) ?? backoff(), 10 * 60_000)
  if (status !== undefined && status >= 500) return backoff()
  if (isNetworkError(e)) return backoff() // refused, reset, timed out

  return undefined
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(t)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })

/** Runs `fn` until it succeeds, a non-retryable error occurs, or the retries run out. */
export async function withRetries<T>(
  fn: () => Promise<T>,
  signal: AbortSignal,
  policy: RetryPolicy = DEFAULT_RETRY,
  onRetry?: (why: string, delayMs: number) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (e) {
      if (signal.aborted) throw e
      const delay = attempt < policy.retries ? retryDelay(e as SdkError, attempt, policy) : undefined
      if (delay === undefined) throw e
      const status = (e as SdkError).status
      onRetry?.(status === undefined ? `network error (${(e as Error).message})` : `HTTP ${status}`, delay)
      await sleep(delay, signal)
    }
  }
}
