import { createRequire } from 'node:module'
import { detect, EmissionFilter, generateKey, getTokenizer } from '@tokenmark/core'
import { prompts, trainReferenceModel } from '@tokenmark/lab'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildProviderApi } from '../src/index.js'

// The official SDKs are dependencies of the CLI (tokenmark probe), not of this example: load them from there.
const cliRequire = createRequire(new URL('../../../packages/cli/package.json', import.meta.url))
const { default: OpenAI } = (await import(cliRequire.resolve('openai'))) as typeof import('openai')
const { default: Anthropic } = (await import(cliRequire.resolve('@anthropic-ai/sdk'))) as typeof import('@anthropic-ai/sdk')

const tokenizer = getTokenizer('o200k_base')
const key = generateKey({ scheme: 'kgw', params: { context: 1 } })
let app: FastifyInstance
let baseURL: string

beforeAll(async () => {
  const model = trainReferenceModel(tokenizer, { part: 'teacher' })
  app = await buildProviderApi({ model, tokenizer, key, accounts: { 'sk-alice': 'alice', 'sk-bob': 'bob' }, adminToken: 'admin-secret', seed: 1 })
  baseURL = await app.listen({ host: '127.0.0.1', port: 0 })
})
afterAll(() => app?.close())

describe('provider API', () => {
  it('answers an OpenAI SDK chat completion and records the account', async () => {
    const client = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: 'sk-alice', maxRetries: 0 })
    const r = await client.chat.completions.create({ model: 'tokenmark-teacher', messages: [{ role: 'user', content: prompts()[0] }], max_tokens: 40 })
    expect(r.object).toBe('chat.completion')
    expect(r.choices[0].message.content!.length).toBeGreaterThan(0)
    expect(['stop', 'length']).toContain(r.choices[0].finish_reason)
    expect(r.usage!.completion_tokens).toBeGreaterThan(0)
    const rec = app.provider.responses.at(-1)!
    expect(r._request_id).toBe(rec.id)
    expect(rec).toMatchObject({ account: 'alice', format: 'openai', completionTokens: r.usage!.completion_tokens })
  })

  it('answers an Anthropic SDK message and records the account', async () => {
    const client = new Anthropic({ baseURL, apiKey: 'sk-bob', maxRetries: 0 })
    const m = await client.messages.create({ model: 'tokenmark-teacher', system: 'Continue the text.', messages: [{ role: 'user', content: prompts()[1] }], max_tokens: 40 })
    expect(m.type).toBe('message')
    expect(m.content[0].type).toBe('text')
    expect(['end_turn', 'max_tokens']).toContain(m.stop_reason)
    expect(app.provider.responses.at(-1)).toMatchObject({ account: 'bob', format: 'anthropic', completionTokens: m.usage.output_tokens })
  })

  it('refuses unknown API keys in each format’s own error shape', async () => {
    const openai = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: 'sk-mallory', maxRetries: 0 })
    await expect(openai.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(OpenAI.AuthenticationError)
    const anthropic = new Anthropic({ baseURL, apiKey: 'toString', maxRetries: 0 })
    await expect(anthropic.messages.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 })).rejects.toBeInstanceOf(Anthropic.AuthenticationError)
    const bad = await app.inject({ method: 'POST', url: '/v1/messages', headers: { 'x-api-key': 'sk-bob' }, payload: { messages: [{ role: 'user', content: 'hi' }] } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('max_tokens') } })
  })

  it('watermarks what it serves: 10 responses detected at p < 1e-6 with its key, not with another', async () => {
    const client = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: 'sk-alice', maxRetries: 0 })
    const texts: string[] = []
    for (const p of prompts().slice(10, 20)) {
      const r = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: p }], max_tokens: 60 })
      texts.push(r.choices[0].message.content!)
    }
    const text = texts.join('\n\n')
    expect(detect({ text, keys: key }).pValue).toBeLessThan(1e-6)
    expect(detect({ text, keys: generateKey({ scheme: 'kgw', params: { context: 1 } }) }).pValue).toBeGreaterThan(1e-3)
  })

  it('exports the response log and the emission filter to its admin only', async () => {
    expect((await app.inject({ method: 'GET', url: '/admin/responses' })).statusCode).toBe(401)
    const log = await app.inject({ method: 'GET', url: '/admin/responses', headers: { authorization: 'Bearer admin-secret' } })
    const lines = log.body.trim().split('\n').map((l) => JSON.parse(l))
    expect(lines.length).toBe(app.provider.responses.length)
    expect(new Set(lines.map((l) => l.account))).toEqual(new Set(['alice', 'bob']))
    const f = await app.inject({ method: 'GET', url: '/admin/emission-filter', headers: { authorization: 'Bearer admin-secret' } })
    const filter = EmissionFilter.fromBytes(new Uint8Array(f.rawPayload))
    expect(filter.added).toBe(lines.reduce((s, l) => s + l.completionTokens, 0))
  })
})
