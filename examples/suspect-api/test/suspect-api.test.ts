import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getTokenizer } from '@tokenmark/core'
import { NGramModel, encodeCorpus, prompts, saveModelFile } from '@tokenmark/lab'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildSuspectApi } from '../src/index.js'

// The official SDKs are dependencies of the CLI (tokenmark probe), not of this example: load them from there.
const cliRequire = createRequire(new URL('../../../packages/cli/package.json', import.meta.url))
const { default: OpenAI } = (await import(cliRequire.resolve('openai'))) as typeof import('openai')
const { default: Anthropic } = (await import(cliRequire.resolve('@anthropic-ai/sdk'))) as typeof import('@anthropic-ai/sdk')

const tokenizer = getTokenizer('o200k_base')
const dir = mkdtempSync(join(tmpdir(), 'suspect-api-'))
// Two servers on the same model and seed: request i of one is request i of the other, streamed or not.
let plain: FastifyInstance
let streamed: FastifyInstance
let plainURL: string
let streamURL: string
const prompt = prompts()[3]

beforeAll(async () => {
  const model = NGramModel.train(encodeCorpus(tokenizer, 'student'), { vocabSize: tokenizer.vocabSize })
  const file = join(dir, 'student.tmlm')
  saveModelFile(file, model, { tokenizer: tokenizer.name })
  plain = await buildSuspectApi({ model, tokenizer, seed: 7 })
  streamed = await buildSuspectApi({ model: file, seed: 7 }) // the same model, loaded from its file
  plainURL = await plain.listen({ host: '127.0.0.1', port: 0 })
  streamURL = await streamed.listen({ host: '127.0.0.1', port: 0 })
})
afterAll(async () => {
  await plain?.close()
  await streamed?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('suspect API', () => {
  it('OpenAI SDK: a streamed completion is the plain one, chunk by chunk, ending in [DONE]', async () => {
    const a = new OpenAI({ baseURL: `${plainURL}/v1`, apiKey: 'sk-any', maxRetries: 0 })
    const b = new OpenAI({ baseURL: `${streamURL}/v1`, apiKey: 'sk-any', maxRetries: 0 })
    const r = await a.chat.completions.create({ model: 'suspect-1', messages: [{ role: 'user', content: prompt }], max_tokens: 50 })
    expect(r.object).toBe('chat.completion')
    expect(r._request_id).toMatch(/^[0-9a-f]{32}$/)
    const stream = await b.chat.completions.create({ model: 'suspect-1', messages: [{ role: 'user', content: prompt }], max_tokens: 50, stream: true, stream_options: { include_usage: true } })
    let text = ''
    let chunks = 0
    let finish: string | null = null
    let usage: unknown
    for await (const c of stream) {
      expect(c.object).toBe('chat.completion.chunk')
      if (c.usage) usage = c.usage
      if (c.choices.length === 0) continue
      chunks++
      text += c.choices[0].delta.content ?? ''
      finish = c.choices[0].finish_reason ?? finish
    }
    expect(text).toBe(r.choices[0].message.content)
    expect(chunks).toBeGreaterThan(5)
    expect(finish).toBe(r.choices[0].finish_reason)
    expect(usage).toEqual(r.usage)
  })

  it('Anthropic SDK: plain and streamed messages agree; the stream has the documented event sequence', async () => {
    const a = new Anthropic({ baseURL: plainURL, apiKey: 'sk-any', maxRetries: 0 })
    const b = new Anthropic({ baseURL: streamURL, apiKey: 'sk-any', maxRetries: 0 })
    const m = await a.messages.create({ model: 'suspect-1', messages: [{ role: 'user', content: prompt }], max_tokens: 50 })
    expect(m.content[0].type).toBe('text')
    const stream = await b.messages.create({ model: 'suspect-1', messages: [{ role: 'user', content: prompt }], max_tokens: 50, stream: true })
    const types: string[] = []
    let text = ''
    for await (const e of stream) {
      if (types.at(-1) !== e.type) types.push(e.type)
      if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text
    }
    expect(types).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop'])
    expect(text).toBe((m.content[0] as { text: string }).text)
    // The SDK's own stream helper assembles the same message.
    const again = await new Anthropic({ baseURL: plainURL, apiKey: 'k', maxRetries: 0 }).messages.stream({ model: 's', messages: [{ role: 'user', content: prompt }], max_tokens: 30 }).finalMessage()
    expect(again.content[0].type).toBe('text')
    expect(again.usage.output_tokens).toBeGreaterThan(0)
  })

  it('rejects a missing API key and a bad max_tokens with each format’s error', async () => {
    const noKey = await plain.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: [{ role: 'user', content: 'x' }] } })
    expect(noKey.statusCode).toBe(401)
    expect(noKey.json().error.type).toBe('invalid_api_key')
    const b = new Anthropic({ baseURL: plainURL, apiKey: 'k', maxRetries: 0 })
    await expect(b.messages.create({ model: 's', messages: [{ role: 'user', content: 'x' }], max_tokens: 600 })).rejects.toBeInstanceOf(Anthropic.BadRequestError)
  })
})
