import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KeySchedule, generateKey, getTokenizer, parseLog, traceText, verifyLog } from '@tokenmark/core'
import { prompts, trainReferenceModel } from '@tokenmark/lab'
import { describe, expect, it } from 'vitest'
import { buildProviderApi } from '../src/index.js'

describe('provider API with a key schedule', () => {
  it('watermarks each account with its cohort key and writes a serving log that verifies and resumes', async () => {
    const tokenizer = getTokenizer('o200k_base')
    const model = trainReferenceModel(tokenizer, { part: 'teacher' })
    const schedule = new KeySchedule(new Uint8Array(32).fill(5), {
      config: { scheme: 'kgw', params: { context: 1 } },
      cohorts: 8,
      epochs: 2,
      epochSeconds: 86400,
      start: new Date(Date.now() - 3600_000), // now is in epoch 0
      canaries: [{ name: 'suspects', accounts: ['mallory'] }],
    })
    const file = join(mkdtempSync(join(tmpdir(), 'provider-log-')), 'serve.servelog')
    const accounts = { 'sk-alice': 'alice', 'sk-mallory': 'mallory' }
    const ask = async (app: Awaited<ReturnType<typeof buildProviderApi>>, apiKey: string, i: number) => {
      const r = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${apiKey}` }, payload: { messages: [{ role: 'user', content: prompts()[i] }], max_tokens: 150 } })
      expect(r.statusCode).toBe(200)
      return r.json().choices[0].message.content as string
    }
    let app = await buildProviderApi({ model, tokenizer, key: generateKey({ scheme: 'kgw' }), accounts, seed: 3, schedule, servingLog: file })
    const text = await ask(app, 'sk-mallory', 0)
    await ask(app, 'sk-alice', 1)
    await app.close()
    app = await buildProviderApi({ model, tokenizer, key: generateKey({ scheme: 'kgw' }), accounts, seed: 4, schedule, servingLog: file })
    await ask(app, 'sk-alice', 2)
    await app.close()
    const log = parseLog(readFileSync(file, 'utf8'))
    expect(log.records.map((r) => r.account)).toEqual(['mallory', 'alice', 'alice'])
    expect(verifyLog(log, schedule).ok).toBe(true)
    expect(log.records[0].cohort).toBe(8) // the canary cohort
    const t = traceText(schedule, tokenizer.encode(text), { records: log.records, alpha: 1e-4 })
    expect(t.match?.label).toBe('canary/suspects')
    expect(t.accounts).toEqual(['mallory'])
  }, 120_000)
})
