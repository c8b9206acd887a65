/**
 * A suspect API: a model (the lab's n-gram model — e.g. a student distilled on harvested responses —
 * or any model file the lab can load) behind the two wire formats a probe meets in the wild, without any
 * watermark of its own:
 *
 *   POST /v1/chat/completions   OpenAI Chat Completions   (stream: true → `chat.completion.chunk` events, then [DONE])
 *   POST /v1/messages           Anthropic Messages        (stream: true → message_start … message_stop events)
 *
 * Any non-empty API key is accepted (Bearer for OpenAI, x-api-key for Anthropic), as a real suspect's would
 * be for a paying customer. Streaming sends one event per token after generating the whole completion:
 * the wire format is the real one, the latency profile is not.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { getTokenizer, type Tokenizer } from '@tokenmark/core'
import { generate, loadModelFile, type NGramModel } from '@tokenmark/lab'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'

export interface SuspectApiOptions {
  /** A trained model, or the path of a model file (saveModelFile). */
  model: NGramModel | string
  /** Default: the tokenizer recorded in the model file, else o200k_base. */
  tokenizer?: Tokenizer
  /** Model name reported in responses (default 'suspect-1'). */
  modelName?: string
  /** Seed of the first request's sampler; each request uses the next one (default: random). */
  seed?: number
  /** Upper bound on max_tokens (default 512). */
  maxTokensLimit?: number
}

type Message = { content?: unknown }

function messageText(m: Message): string {
  if (typeof m?.content === 'string') return m.content
  if (Array.isArray(m?.content)) return m.content.map((p: { text?: unknown }) => (typeof p?.text === 'string' ? p.text : '')).join('')
  return ''
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

interface Completion {
  id: string
  created: number
  /** Text pieces, one per generated token (a token that ends inside a UTF-8 character joins the next). */
  pieces: string[]
  text: string
  promptTokens: number
  completionTokens: number
  finish: 'stop' | 'length'
}

export async function buildSuspectApi(options: SuspectApiOptions): Promise<FastifyInstance> {
  let model: NGramModel
  let tokenizer = options.tokenizer
  if (typeof options.model === 'string') {
    const loaded = loadModelFile(options.model)
    model = loaded.model
    tokenizer ??= getTokenizer(loaded.tokenizer ?? 'o200k_base')
  } else {
    model = options.model
  }
  const tok = tokenizer ?? getTokenizer('o200k_base')
  const modelName = options.modelName ?? 'suspect-1'
  const maxTokensLimit = options.maxTokensLimit ?? 512
  let seed = options.seed ?? randomBytes(4).readUInt32LE(0)

  function complete(messages: unknown, maxTokens: unknown, temperature: unknown): Completion {
    if (!Array.isArray(messages) || messages.length === 0) throw new ApiError(400, 'messages must be a non-empty array')
    if (!(Number.isInteger(maxTokens) && (maxTokens as number) >= 1 && (maxTokens as number) <= maxTokensLimit)) {
      throw new ApiError(400, `max_tokens must be an integer in [1, ${maxTokensLimit}]`)
    }
    if (temperature !== undefined && !(typeof temperature === 'number' && temperature > 0 && temperature <= 2)) throw new ApiError(400, 'temperature must be in (0, 2]')
    const prompt = (messages as Message[]).map(messageText).join('\n\n')
    const g = generate(model, tok, prompt, { maxTokens: maxTokens as number, seed: seed++ >>> 0, temperature: (temperature as number | undefined) ?? 1, stopAt: 'paragraph' })
    const pieces: string[] = []
    let done = ''
    for (let i = 1; i <= g.ids.length; i++) {
      const prefix = tok.decode(g.ids.subarray(0, i))
      if (prefix.endsWith('\uFFFD') && i < g.ids.length) continue // mid-character: wait for the next token
      pieces.push(prefix.slice(done.length))
      done = prefix
    }
    return {
      id: randomUUID().replaceAll('-', ''),
      created: Math.floor(Date.now() / 1000),
      pieces,
      text: g.text,
      promptTokens: g.promptIds.length,
      completionTokens: g.ids.length,
      finish: g.stop === 'max-tokens' ? 'length' : 'stop',
    }
  }

  /** Writes server-sent events by hand: `event:` lines only for Anthropic, as the real APIs do. */
  function sse(reply: FastifyReply, requestIdHeader: string, id: string, events: Array<[string | undefined, unknown]>): void {
    reply.hijack()
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', [requestIdHeader]: id })
    for (const [event, data] of events) reply.raw.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`)
    reply.raw.end()
  }

  const apiKeyOf = (req: FastifyRequest, anthropic: boolean): string | undefined => {
    // x-api-key is the Anthropic header; @anthropic-ai/sdk 1.x sends the key as a Bearer token instead.
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    const v = anthropic ? (req.headers['x-api-key'] ?? bearer) : bearer
    return typeof v === 'string' && v.length > 0 ? v : undefined
  }

  const app = Fastify({ logger: false })

  app.post('/v1/chat/completions', async (req: FastifyRequest<{ Body: Record<string, unknown> }>, reply) => {
    if (!apiKeyOf(req, false)) throw new ApiError(401, 'missing API key')
    const b = req.body ?? {}
    const c = complete(b.messages, b.max_completion_tokens ?? b.max_tokens ?? 256, b.temperature ?? undefined)
    const base = { id: `chatcmpl-${c.id}`, created: c.created, model: modelName }
    const usage = { prompt_tokens: c.promptTokens, completion_tokens: c.completionTokens, total_tokens: c.promptTokens + c.completionTokens }
    if (b.stream === true) {
      const chunk = (delta: object, finish: string | null) => ({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })
      const wantUsage = (b.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true
      sse(reply, 'x-request-id', c.id, [
        [undefined, chunk({ role: 'assistant', content: '' }, null)],
        ...c.pieces.map((p): [undefined, unknown] => [undefined, chunk({ content: p }, null)]),
        [undefined, chunk({}, c.finish)],
        ...(wantUsage ? [[undefined, { ...base, object: 'chat.completion.chunk', choices: [], usage }] as [undefined, unknown]] : []),
        [undefined, '[DONE]'],
      ])
      return reply
    }
    reply.header('x-request-id', c.id)
    return {
      ...base,
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: c.text, refusal: null }, logprobs: null, finish_reason: c.finish }],
      usage,
    }
  })

  app.post('/v1/messages', async (req: FastifyRequest<{ Body: Record<string, unknown> }>, reply) => {
    if (!apiKeyOf(req, true)) throw new ApiError(401, 'missing x-api-key')
    const b = req.body ?? {}
    const system = typeof b.system === 'string' ? [{ content: b.system }] : []
    const c = complete(Array.isArray(b.messages) ? [...system, ...b.messages] : b.messages, b.max_tokens, b.temperature ?? undefined)
    const id = `msg_${c.id}`
    const stopReason = c.finish === 'stop' ? 'end_turn' : 'max_tokens'
    if (b.stream === true) {
      sse(reply, 'request-id', c.id, [
        ['message_start', { type: 'message_start', message: { id, type: 'message', role: 'assistant', model: modelName, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: c.promptTokens, output_tokens: 1 } } }],
        ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
        ['ping', { type: 'ping' }],
        ...c.pieces.map((p): [string, unknown] => ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p } }]),
        ['content_block_stop', { type: 'content_block_stop', index: 0 }],
        ['message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: c.completionTokens } }],
        ['message_stop', { type: 'message_stop' }],
      ])
      return reply
    }
    reply.header('request-id', c.id)
    return {
      id,
      type: 'message',
      role: 'assistant',
      model: modelName,
      content: [{ type: 'text', text: c.text }],
      stop_reason: stopReason,
      stop_sequence: null,
      usage: { input_tokens: c.promptTokens, output_tokens: c.completionTokens },
    }
  })

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
