/**
 * Tenants and API tokens. A token is returned once, at creation. A token can grant only scopes it
 * holds itself, and only within its own tenant; creating tenants needs `tenants:admin`, which only the
 * bootstrap token of the first tenant holds.
 */
import type { FastifyInstance } from 'fastify'
import { SCOPES, TENANT_ADMIN_SCOPES, type Scope } from '../auth.js'
import { ServerError } from '../errors.js'
import { AUTH_ERRORS, BODY_ERRORS, errors, tokenInfoSchema } from '../schemas.js'

const createdTokenSchema = {
  ...tokenInfoSchema,
  required: [...tokenInfoSchema.required, 'token'],
  properties: { ...tokenInfoSchema.properties, token: { type: 'string', description: 'The bearer token: shown this once, stored only as a hash' } },
} as const

export default async function adminRoutes(app: FastifyInstance): Promise<void> {
  const tags = ['admin']

  app.post<{ Body: { name: string; scopes: Scope[] } }>(
    '/v1/tokens',
    {
      onRequest: app.requireScope('tokens:admin'),
      schema: {
        tags,
        operationId: 'createToken',
        summary: 'Create an API token in the caller’s tenant',
        body: {
          type: 'object',
          required: ['name', 'scopes'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200 },
            scopes: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: [...SCOPES] } },
          },
        },
        response: { 201: { ...createdTokenSchema, description: 'The token (shown once)' }, ...errors(...AUTH_ERRORS, ...BODY_ERRORS) },
      },
    },
    async (req, reply) => {
      const auth = req.auth!
      const missing = req.body.scopes.filter((s) => !auth.scopes.has(s))
      if (missing.length > 0) throw new ServerError('E_FORBIDDEN', `a token cannot grant scopes it does not hold: ${missing.join(', ')}`)
      return reply.status(201).send(app.access.createToken(auth.tenantId, req.body.name, req.body.scopes))
    },
  )

  app.get(
    '/v1/tokens',
    {
      onRequest: app.requireScope('tokens:admin'),
      schema: {
        tags,
        operationId: 'listTokens',
        summary: 'The tenant’s tokens (ids, names, scopes; never the tokens)',
        response: { 200: { type: 'object', required: ['tokens'], properties: { tokens: { type: 'array', items: tokenInfoSchema } } }, ...errors(...AUTH_ERRORS) },
      },
    },
    async (req) => ({ tokens: app.access.listTokens(req.auth!.tenantId) }),
  )

  app.delete<{ Params: { id: string } }>(
    '/v1/tokens/:id',
    {
      onRequest: app.requireScope('tokens:admin'),
      schema: {
        tags,
        operationId: 'revokeToken',
        summary: 'Revoke a token of the tenant',
        description: 'Only a token whose scopes are a subset of the caller’s (403 otherwise), and never the last holder of tenants:admin (409). Other instances sharing the database refuse the token within tokenRecheckMs (5 s by default).',
        params: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1, maxLength: 100 } } },
        response: { 204: { type: 'null', description: 'Revoked' }, ...errors(...AUTH_ERRORS, 404, 409) },
      },
    },
    async (req, reply) => {
      if (!app.access.revokeToken(req.auth!.tenantId, req.params.id, req.auth!)) throw new ServerError('E_NOT_FOUND', `no live token ${req.params.id.slice(0, 80)}`)
      return reply.status(204).send()
    },
  )

  app.post<{ Body: { name: string } }>(
    '/v1/tenants',
    {
      onRequest: app.requireScope('tenants:admin'),
      schema: {
        tags,
        operationId: 'createTenant',
        summary: 'Create a tenant and its first administrator token',
        body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', minLength: 1, maxLength: 200 } } },
        response: {
          201: {
            type: 'object',
            description: 'The tenant and its admin token (shown once)',
            required: ['id', 'name', 'createdAt', 'adminToken'],
            properties: { id: { type: 'string' }, name: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' }, adminToken: createdTokenSchema },
          },
          ...errors(...AUTH_ERRORS, ...BODY_ERRORS),
        },
      },
    },
    async (req, reply) => {
      const tenant = app.store.transaction(() => {
        const t = app.access.createTenant(req.body.name)
        return { ...t, adminToken: app.access.createToken(t.id, 'admin', TENANT_ADMIN_SCOPES) }
      })
      return reply.status(201).send(tenant)
    },
  )
}
