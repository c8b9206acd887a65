/** The tenant's key store: generate or import keys; list ids, schemes and commitments. Never secrets. */
import type { FastifyInstance } from 'fastify'
import { ServerError } from '../errors.js'
import { AUTH_ERRORS, BODY_ERRORS, errors, keyIdSchema, keyInfoSchema } from '../schemas.js'

interface KeyBody {
  scheme?: string
  params?: Record<string, unknown>
  tokenizer?: string
  keyFile?: string
  name?: string
}

export default async function keyRoutes(app: FastifyInstance): Promise<void> {
  const admin = app.requireScope('keys:admin')
  const tags = ['keys']

  app.post<{ Body: KeyBody }>(
    '/v1/keys',
    {
      onRequest: admin,
      schema: {
        tags,
        operationId: 'createKey',
        summary: 'Generate a key server-side (scheme, params, tokenizer) or import a key file (keyFile)',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            scheme: { type: 'string', minLength: 1, maxLength: 50 },
            params: { type: 'object', additionalProperties: true },
            tokenizer: { type: 'string', minLength: 1, maxLength: 200 },
            keyFile: { type: 'string', minLength: 1, maxLength: 10_000, description: 'The text of a tokenmark key file (imported, then sealed)' },
            name: { type: 'string', minLength: 1, maxLength: 200 },
          },
        },
        response: { 201: { ...keyInfoSchema, description: 'The stored key’s public info' }, ...errors(...AUTH_ERRORS, 409, ...BODY_ERRORS) },
      },
    },
    async (req, reply) => {
      const b = req.body
      const tenant = req.auth!.tenantId
      if (b.keyFile !== undefined) {
        if (b.scheme !== undefined || b.params !== undefined || b.tokenizer !== undefined) {
          throw new ServerError('E_VALIDATION', 'body has "keyFile" and generation fields; an imported key file carries its own configuration')
        }
        return reply.status(201).send(app.keyStore.importKeyFile(tenant, b.keyFile, b.name))
      }
      if (b.scheme === undefined) throw new ServerError('E_VALIDATION', 'body must have "scheme" (to generate a key) or "keyFile" (to import one)')
      return reply.status(201).send(app.keyStore.generate(tenant, { scheme: b.scheme, params: b.params, tokenizer: b.tokenizer }, b.name))
    },
  )

  app.get(
    '/v1/keys',
    {
      onRequest: app.requireScope(),
      schema: {
        tags,
        operationId: 'listKeys',
        summary: 'The tenant’s keys: ids, schemes, parameters, commitments',
        response: { 200: { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: keyInfoSchema } } }, ...errors(...AUTH_ERRORS) },
      },
    },
    async (req) => ({ keys: app.keyStore.list(req.auth!.tenantId) }),
  )

  app.get<{ Params: { keyId: string } }>(
    '/v1/keys/:keyId',
    {
      onRequest: app.requireScope(),
      schema: {
        tags,
        operationId: 'getKey',
        summary: 'One key’s public info',
        params: { type: 'object', required: ['keyId'], additionalProperties: false, properties: { keyId: keyIdSchema } },
        response: { 200: keyInfoSchema, ...errors(...AUTH_ERRORS, 404) },
      },
    },
    async (req) => {
      const k = app.keyStore.info(req.auth!.tenantId, req.params.keyId)
      if (!k) throw new ServerError('E_NOT_FOUND', `no key ${req.params.keyId} in this tenant's key store`)
      return k
    },
  )
}
