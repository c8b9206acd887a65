/** Liveness, readiness and the OpenAPI document: the only routes without authentication. */
import type { FastifyInstance } from 'fastify'
import { storeErrorReply } from '../errors.js'
import { errors } from '../schemas.js'

export default async function healthRoutes(app: FastifyInstance): Promise<void> {
  const open = { security: [], tags: ['health'] }
  app.get(
    '/healthz',
    {
      config: { rateLimit: false },
      schema: {
        ...open,
        operationId: 'healthz',
        summary: 'Liveness: the process is up',
        response: { 200: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } }, ...errors(404) },
      },
    },
    async () => ({ status: 'ok' as const }),
  )
  app.get(
    '/readyz',
    {
      config: { rateLimit: false },
      schema: {
        ...open,
        operationId: 'readyz',
        summary: 'Readiness: the database accepts writes',
        response: {
          200: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ready'] } } },
          503: {
            type: 'object',
            required: ['status'],
            properties: { status: { type: 'string', enum: ['unavailable'] }, reason: { type: 'string', description: 'E_STORE_READONLY, E_STORE_FULL, E_STORE_BUSY, E_STORE_IO or E_STORE_CLOSED' } },
            description: 'The database is closed, read-only, full or failing',
          },
          ...errors(404),
        },
      },
    },
    async (_req, reply) => {
      // A write probe, not SELECT 1: a read-only or full database still answers reads (issue 12).
      try {
        if (app.store.closed) return reply.status(503).send({ status: 'unavailable' as const, reason: 'E_STORE_CLOSED' })
        app.store.probeWrite()
        return { status: 'ready' as const }
      } catch (e) {
        return reply.status(503).send({ status: 'unavailable' as const, reason: storeErrorReply(e)?.code ?? 'E_STORE_IO' })
      }
    },
  )
  app.get(
    '/openapi.json',
    {
      config: { rateLimit: false },
      schema: {
        ...open,
        operationId: 'openapi',
        summary: 'This API’s OpenAPI 3.1 document, generated from the route schemas',
        response: { 200: { type: 'object', additionalProperties: true }, ...errors(404) },
      },
    },
    async () => app.swagger(),
  )
}
