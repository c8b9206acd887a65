/**
 * POST /v1/detect: one text or a batch against one key, several, or the tenant's whole key ring.
 * A detection endpoint is an oracle an attacker could use to scrub a watermark token by token, so
 * per-token marks need the `detail` scope, batches are bounded and every call is rate limited.
 */
import { DEFAULT_ALPHA, type WatermarkKey } from '@tokenmark/core'
import type { FastifyInstance } from 'fastify'
import { ServerError } from '../errors.js'
import { AUTH_ERRORS, BODY_ERRORS, detectReplySchema, errors, keyIdSchema } from '../schemas.js'

export interface DetectBody {
  text?: string
  texts?: string[]
  keyId?: string
  keyIds?: string[]
  alpha?: number
  window?: boolean
  dedup?: boolean
  normalize?: boolean
  marks?: boolean
}

const JSON_TYPE = 'application/json; charset=utf-8'

export default async function detectRoutes(app: FastifyInstance): Promise<void> {
  const bodySchema = {
    type: 'object',
    additionalProperties: false,
    description: 'Give `text` or `texts`; `keyId`, `keyIds` or neither (the whole key ring, p-value corrected for its size).',
    properties: {
      text: { type: 'string' }, // no maxLength: see TEXTS_ARE_BOUNDED in schemas.ts
      texts: { type: 'array', minItems: 1, maxItems: app.limits.detectBatch, items: { type: 'string' } },
      keyId: keyIdSchema,
      keyIds: { type: 'array', minItems: 1, maxItems: 64, items: keyIdSchema },
      alpha: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, default: DEFAULT_ALPHA },
      window: { type: 'boolean', description: 'Also report the most significant span (corrected for every window examined)' },
      dedup: { type: 'boolean', default: true },
      normalize: { type: 'boolean', default: true },
      marks: { type: 'boolean', description: 'Per-token marks (needs the detail scope)' },
    },
  } as const

  app.post<{ Body: DetectBody }>(
    '/v1/detect',
    {
      onRequest: app.requireScope('detect'),
      schema: {
        tags: ['detect'],
        operationId: 'detect',
        summary: 'Test one text or a batch for the watermark of the tenant’s keys',
        body: bodySchema,
        response: {
          // Documents the reply; the body itself is serialised with this schema where detection runs.
          200: detectReplySchema,
          ...errors(...AUTH_ERRORS, 404, ...BODY_ERRORS),
        },
      },
    },
    // Not async: a detection within the inline bound is answered in this turn (no promise, no microtask),
    // and returning nothing — rather than `reply`, a thenable fastify would wait on for the response to
    // finish — spares a stream listener set per request (issue 12, the service's per-request CPU).
    (req, reply) => {
      const b = req.body
      const auth = req.auth!
      if ((b.text === undefined) === (b.texts === undefined)) throw new ServerError('E_VALIDATION', 'body must have exactly one of "text" or "texts"')
      if (b.keyId !== undefined && b.keyIds !== undefined) throw new ServerError('E_VALIDATION', 'body may have "keyId" or "keyIds", not both')
      if (b.marks && !auth.scopes.has('detail')) throw new ServerError('E_FORBIDDEN', 'per-token marks need the "detail" scope')
      let keys: WatermarkKey[]
      if (b.keyId !== undefined) keys = [app.keyStore.require(auth.tenantId, b.keyId)]
      else if (b.keyIds !== undefined) keys = [...new Set(b.keyIds)].map((id) => app.keyStore.require(auth.tenantId, id))
      else {
        keys = app.keyStore.ring(auth.tenantId)
        if (keys.length === 0) throw new ServerError('E_NOT_FOUND', 'this tenant has no keys yet; add one with POST /v1/keys')
      }
      const refs = keys.map((key) => ({ ref: `${auth.tenantId}\0${key.keyId}`, key }))
      const options = { alpha: b.alpha, window: b.window, dedup: b.dedup, normalize: b.normalize, marks: b.marks === true }
      const batch = b.text === undefined
      const body = app.detector.run(refs, batch ? (b.texts as string[]) : [b.text as string], options, batch, auth.tenantId, Date.now() + app.limits.workTimeoutMs)
      // A string with a JSON content type is sent as it is (fastify serialises objects only).
      if (typeof body === 'string') {
        reply.type(JSON_TYPE).send(body)
        return
      }
      return body.then((json) => {
        reply.type(JSON_TYPE).send(json)
      })
    },
  )
}
