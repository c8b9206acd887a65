/** A route plugin added in one file sees the store, the key store and a case's evidence (the report routes' needs). */
import { createAccumulator, prepareKey, scoreTokens, getTokenizer, testAccumulator } from '@tokenmark/core'
import type { FastifyInstance } from 'fastify'
import { expect, test } from 'vitest'
import { bearer, testKey, testServer, watermarkedText } from './helpers.js'

async function evidenceRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Params: { id: string } }>(
    '/v1/cases/:id/evidence-check',
    {
      onRequest: app.requireScope('cases:read'),
      schema: {
        tags: ['cases'],
        operationId: 'evidenceCheck',
        summary: 'test route',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
        response: { 200: { type: 'object', properties: { samples: { type: 'integer' }, log10P: { type: 'number' }, rescored: { type: 'number' } } } },
      },
    },
    async (req) => {
      const { key, accumulator, samples } = app.cases.evidence(req.auth!.tenantId, req.params.id)
      // rescoring every stored sample into a fresh accumulator gives the persisted one's result
      const fresh = createAccumulator(key)
      const tk = getTokenizer(key.config.tokenizer)
      for (const s of app.cases.allSamples(req.auth!.tenantId, req.params.id)) scoreTokens(prepareKey(key), tk.encode(s.text), fresh)
      return { samples, log10P: testAccumulator(accumulator).log10P, rescored: testAccumulator(fresh).log10P }
    },
  )
}

test('a plugin passed to buildServer reads a case’s key, merged accumulator and samples', async () => {
  const s = await testServer({ plugins: [evidenceRoutes] })
  const key = testKey(6)
  const h = bearer(s.admin)
  await s.app.inject({ method: 'POST', url: '/v1/keys', headers: h, payload: { keyFile: key.toKeyFile() } })
  const c = JSON.parse((await s.app.inject({ method: 'POST', url: '/v1/cases', headers: h, payload: { name: 'p', keyId: key.keyId } })).body)
  for (let b = 0; b < 3; b++) {
    const samples = [0, 1].map((i) => ({ text: watermarkedText(key, 50, 10 * b + i) }))
    expect((await s.app.inject({ method: 'POST', url: `/v1/cases/${c.id}/samples`, headers: h, payload: { samples } })).statusCode).toBe(200)
  }
  const r = JSON.parse((await s.app.inject({ method: 'GET', url: `/v1/cases/${c.id}/evidence-check`, headers: h })).body)
  expect(r.samples).toBe(6)
  expect(r.log10P).toBeLessThan(-6)
  expect(r.log10P).toBeCloseTo(r.rescored, 10)
  const doc = JSON.parse((await s.app.inject({ method: 'GET', url: '/openapi.json' })).body)
  expect(doc.paths['/v1/cases/{id}/evidence-check']).toBeDefined()
  await s.app.close()
})
