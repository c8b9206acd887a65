/** Liveness, readiness and the OpenAPI document: the only routes without authentication. */
import type { FastifyInstance } from 'fastify'
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
        summary: 'Readiness: the database answers',
        response: {
          200: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ready'] } } },
          503: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['unavailable'] } }, description: 'The database is closed or failing' },
          ...errors(404),
        },
      },
    },
    async (_req, reply) => {
      try {
        if (app.store.closed) throw new Error('closed')
        app.store.db.prepare('SELECT 1').get()
        return { status: 'ready' as const }
      } catch {
        return reply.status(503).send({ status: 'unavailable' as const })
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
