/**
 * A provider API that watermarks everything it serves — the minimal example to copy when putting
 * @tokenmark/core into a real sampler. It answers two wire formats:
 *
 *   POST /v1/chat/completions   OpenAI Chat Completions   (Authorization: Bearer <api key>)
 *   POST /v1/messages           Anthropic Messages        (x-api-key: <api key>, or Bearer as the 1.x SDK sends it)
 *
 * and for the provider's own staff (Authorization: Bearer <adminToken>):
 *
 *   GET /admin/responses        the response log as JSON lines: which account received which response
 *   GET /admin/emission-filter  the emission filter (core's EmissionFilter bytes) of every served context
 *
 * Three things make it a watermarking provider, and each is one line below:
 *   1. the sampler is `watermarkSampler(key, …)` instead of a plain one;
 *   2. every response is recorded in an `EmissionFilter` (what a later radioactivity test may restrict to);
 *   3. every response is logged with the account that asked for it (what traces harvesting later).
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { appendFileSync } from 'node:fs'
import { EmissionFilter, prepareKey, seededRng, watermarkSampler, type KeySchedule, type SamplingOptions, type Tokenizer, type WatermarkKey } from '@tokenmark/core'
import type { NGramModel } from '@tokenmark/lab'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { complete } from './generate.js'
import { ScheduledServing } from './serving-log.js'

export { complete, type Completion } from './generate.js'

export interface ProviderApiOptions {
  model: NGramModel
  tokenizer: Tokenizer
  /** The watermark key; a context-seeded scheme (kgw, gumbel, synthid) so the emission filter can record contexts. */
  key: WatermarkKey
  /** API key → account id. */
  accounts: Record<string, string>
  /** Bearer token for the /admin routes (omit to disable them). */
  adminToken?: string
  /** Sampling around the watermark; default temperature 1, top-k 40. */
  sampling?: SamplingOptions
  /** Seed of the non-watermark randomness (default: random). Fix it for reproducible tests. */
  seed?: number
  /** Model name reported in responses (default 'tokenmark-teacher'). */
  modelName?: string
  /** Upper bound on max_tokens (default 512). */
  maxTokensLimit?: number
  /** Also append each response record to this JSON-lines file. */
  logFile?: string
  /** Serve through a key schedule: each account's key per epoch (overrides `key` for sampling). */
  schedule?: KeySchedule
  /** With `schedule`: the hash-chained serving log file (JSON lines), resumed when it exists. */
  servingLog?: string
  /** Contexts the emission filter is sized for at a 1 % false-positive rate (default 1,000,000). */
  filterCapacity?: number
}

/** What the provider keeps about each response. */
export interface ResponseRecord {
  id: string
  account: string
  format: 'openai' | 'anthropic'
  time: string
  model: string
  promptTokens: number
  completionTokens: number
}

export interface ProviderState {
  filter: EmissionFilter
  responses: ResponseRecord[]
  /** With a schedule: the serving log being written. */
  scheduled?: ScheduledServing
}

declare module 'fastify' {
  interface FastifyInstance {
    provider: ProviderState
  }
}

type Message = { role?: unknown; content?: unknown }

/** The text of a chat message: a string, or an array of `{ type: 'text', text }` parts. */
function messageText(m: Message): string {
  if (typeof m.content === 'string') return m.content
  if (Array.isArray(m.content)) return m.content.map((p: { text?: unknown }) => (typeof p?.text === 'string' ? p.text : '')).join('')
  return ''
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly kind: 'auth' | 'invalid',
    message: string,
  ) {
    super(message)
  }
}

export async function buildProviderApi(options: ProviderApiOptions): Promise<FastifyInstance> {
  const { model, tokenizer, key, accounts } = options
  const modelName = options.modelName ?? 'tokenmark-teacher'
  const maxTokensLimit = options.maxTokensLimit ?? 512
  const pk = prepareKey(key)
  // (1) The watermark sampler. Generation is synchronous, so one sampler and RNG serve every request.
  const rng = seededRng(options.seed ?? randomBytes(4).readUInt32LE(0))
  const sampling = { temperature: 1, topK: 40, ...options.sampling }
  const sampler = watermarkSampler(key, sampling, rng)
  const scheduled = options.schedule ? new ScheduledServing(options.schedule, options.servingLog) : undefined
  const state: ProviderState = { filter: new EmissionFilter({ capacity: options.filterCapacity ?? 1_000_000 }), responses: [], scheduled }

  const app = Fastify({ logger: false })
  app.decorate('provider', state)

  /** Authenticates, generates, records. Returns what both formats need. */
  function serve(format: ResponseRecord['format'], apiKey: string | undefined, messages: unknown, maxTokens: unknown) {
    const account = apiKey !== undefined && Object.hasOwn(accounts, apiKey) ? accounts[apiKey] : undefined
    if (account === undefined) throw new ApiError(401, 'auth', 'invalid API key')
    if (!Array.isArray(messages) || messages.length === 0) throw new ApiError(400, 'invalid', 'messages must be a non-empty array')
    if (!(Number.isInteger(maxTokens) && (maxTokens as number) >= 1 && (maxTokens as number) <= maxTokensLimit)) {
      throw new ApiError(400, 'invalid', `max_tokens must be an integer in [1, ${maxTokensLimit}]`)
    }
    const prompt = (messages as Message[]).map(messageText).join('\n\n')
    const promptIds = tokenizer.encode(prompt)
    const now = new Date()
    const ck = scheduled?.keyFor(account, now) // with a schedule, the account's key in this epoch
    const out = complete(model, tokenizer, promptIds, ck ? watermarkSampler(ck.key, sampling, rng) : sampler, maxTokens as number, sampling.topK || 1000)
    // (2) Record the contexts this response was sampled in (the prompt is context only).
    state.filter.recordResponse(ck ? prepareKey(ck.key) : pk, out.ids, promptIds)
    // (3) Record who received it.
    const record: ResponseRecord = {
      id: randomUUID(),
      account,
      format,
      time: now.toISOString(),
      model: modelName,
      promptTokens: promptIds.length,
      completionTokens: out.ids.length,
    }
    state.responses.push(record)
    if (options.logFile) appendFileSync(options.logFile, JSON.stringify(record) + '\n')
    if (ck) scheduled?.record(ck, account, record.time, prompt, out.text)
    return { record, out }
  }

  app.post('/v1/chat/completions', async (req: FastifyRequest<{ Body: Record<string, unknown> }>, reply) => {
    const b = req.body ?? {}
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    if (b.stream === true) throw new ApiError(400, 'invalid', 'this example provider does not stream')
    const { record, out } = serve('openai', bearer, b.messages, b.max_completion_tokens ?? b.max_tokens ?? 256)
    reply.header('x-request-id', record.id)
    return {
      id: `chatcmpl-${record.id}`,
      object: 'chat.completion',
      created: Math.floor(Date.parse(record.time) / 1000),
      model: modelName,
      choices: [{ index: 0, message: { role: 'assistant', content: out.text, refusal: null }, logprobs: null, finish_reason: out.finish }],
      usage: { prompt_tokens: record.promptTokens, completion_tokens: record.completionTokens, total_tokens: record.promptTokens + record.completionTokens },
    }
  })

  app.post('/v1/messages', async (req: FastifyRequest<{ Body: Record<string, unknown> }>, reply) => {
    const b = req.body ?? {}
    if (b.stream === true) throw new ApiError(400, 'invalid', 'this example provider does not stream')
    const system = typeof b.system === 'string' ? [{ content: b.system }] : []
    const messages = Array.isArray(b.messages) ? [...system, ...b.messages] : b.messages
    // x-api-key is the documented header; @anthropic-ai/sdk 1.x sends the key as a Bearer token instead.
    const apiKey = req.headers['x-api-key'] ?? /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    const { record, out } = serve('anthropic', typeof apiKey === 'string' ? apiKey : undefined, messages, b.max_tokens)
    reply.header('request-id', record.id)
    return {
      id: `msg_${record.id.replaceAll('-', '')}`,
      type: 'message',
      role: 'assistant',
      model: modelName,
      content: [{ type: 'text', text: out.text }],
      stop_reason: out.finish === 'stop' ? 'end_turn' : 'max_tokens',
      stop_sequence: null,
      usage: { input_tokens: record.promptTokens, output_tokens: record.completionTokens },
    }
  })

  const admin = async (req: FastifyRequest) => {
    if (!options.adminToken || req.headers.authorization !== `Bearer ${options.adminToken}`) throw new ApiError(401, 'auth', 'admin token required')
  }
  app.get('/admin/responses', { onRequest: admin }, async (_req, reply) =>
    reply.type('application/x-ndjson').send(state.responses.map((r) => JSON.stringify(r) + '\n').join('')),
  )
  app.get('/admin/emission-filter', { onRequest: admin }, async (_req, reply) => reply.type('application/octet-stream').send(Buffer.from(state.filter.toBytes())))

  // Errors in each API's own shape, so the official SDKs raise their usual exceptions.
  app.setErrorHandler((err: Error & { statusCode?: number }, req: FastifyRequest, reply: FastifyReply) => {
    const status = err instanceof ApiError ? err.status : err.statusCode && err.statusCode < 500 ? err.statusCode : 500
    const message = status === 500 ? 'internal error' : err.message
    if (req.url.startsWith('/v1/messages')) {
      const type = status === 401 ? 'authentication_error' : status === 500 ? 'api_error' : 'invalid_request_error'
      return reply.status(status).send({ type: 'error', error: { type, message } })
    }
    const type = status === 401 ? 'invalid_api_key' : status === 500 ? 'server_error' : 'invalid_request_error'
    return reply.status(status).send({ error: { message, type, param: null, code: type } })
  })
  return app
}
