/** Investigation cases: create, list, read, append samples in idempotent batches, read the result. */
import type { SignedLogHead } from '@tokenmark/evidence'
import type { FastifyInstance } from 'fastify'
import { DEFAULT_CASE_ALPHA, SOURCE_MAX_BYTES, SOURCE_MAX_DEPTH, type SampleInput } from '../cases.js'
import { alphaParam, intParam, intQuery, numberQuery } from './query.js'
import { anyCaseResultSchema, AUTH_ERRORS, BODY_ERRORS, caseSchema, errors, idParams, keyIdSchema, sampleSchema } from '../schemas.js'

interface IdParams {
  id: string
}

export default async function caseRoutes(app: FastifyInstance): Promise<void> {
  const read = app.requireScope('cases:read')
  const write = app.requireScope('cases:write')
  const tags = ['cases']

  app.post<{ Body: { name: string; description?: string; keyId?: string; scheduleId?: string; dedup?: boolean; normalize?: boolean } }>(
    '/v1/cases',
    {
      onRequest: write,
      schema: {
        tags,
        operationId: 'createCase',
        summary: 'Open a case: samples from one suspect source, tested against one key or bound to a key schedule',
        description:
          'Give `keyId` for a case tested against one key, or `scheduleId` for a case bound to a key schedule (keyed replay: each sample then names the key that served its prompt in `served`, and the result is the schedule test — global, per cohort and per epoch — that `tokenmark scan --schedule` gives).',
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200 },
            description: { type: 'string', maxLength: 5000 },
            keyId: keyIdSchema,
            scheduleId: { type: 'string', minLength: 1, maxLength: 100, description: 'A registered key schedule (tmks_…), instead of keyId' },
            dedup: { type: 'boolean', default: true, description: 'Score each (context, token) tuple once across the case (default on; a schedule case de-duplicates per key and refuses false)' },
            normalize: { type: 'boolean', default: true },
          },
        },
        response: { 201: { ...caseSchema, description: 'The new case' }, ...errors(...AUTH_ERRORS, 404, ...BODY_ERRORS) },
      },
    },
    async (req, reply) => reply.status(201).send(app.cases.create(req.auth!.tenantId, req.body)),
  )

  app.get<{ Querystring: { limit?: string; cursor?: string } }>(
    '/v1/cases',
    {
      onRequest: read,
      schema: {
        tags,
        operationId: 'listCases',
        summary: 'The tenant’s cases, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: intQuery('Page size, 1..200 (default 50)'), cursor: { type: 'string', maxLength: 200, description: 'The `next` of the previous page' } },
        },
        response: {
          200: {
            type: 'object',
            required: ['cases', 'next'],
            properties: { cases: { type: 'array', items: caseSchema }, next: { type: ['string', 'null'], description: 'Cursor of the next page' } },
          },
          ...errors(...AUTH_ERRORS),
        },
      },
    },
    async (req) => app.cases.list(req.auth!.tenantId, intParam('limit', req.query.limit, 50, 1, 200), req.query.cursor),
  )

  app.get<{ Params: IdParams }>(
    '/v1/cases/:id',
    {
      onRequest: read,
      schema: { tags, operationId: 'getCase', summary: 'A case with its running result', params: idParams, response: { 200: caseSchema, ...errors(...AUTH_ERRORS, 404) } },
    },
    async (req) => app.cases.get(req.auth!.tenantId, req.params.id),
  )

  app.get<{ Params: IdParams; Querystring: { alpha?: string } }>(
    '/v1/cases/:id/result',
    {
      onRequest: read,
      schema: {
        tags,
        operationId: 'getCaseResult',
        summary: 'The test on the case’s merged evidence: the corpus test (p-value, e-value, tokens), or for a schedule case the global, per-cohort and per-epoch tests',
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { alpha: numberQuery('Significance level for `detected` (and, for a schedule case, the family-wise level of flagged cohorts and epochs), in (0, 1) (default 1e-6)') },
        },
        response: { 200: anyCaseResultSchema, ...errors(...AUTH_ERRORS, 404) },
      },
    },
    async (req) => app.cases.result(req.auth!.tenantId, req.params.id, alphaParam(req.query.alpha, DEFAULT_CASE_ALPHA)),
  )

  app.post<{ Params: IdParams; Body: { samples: SampleInput[] } }>(
    '/v1/cases/:id/samples',
    {
      onRequest: write,
      schema: {
        tags,
        operationId: 'addSamples',
        summary: 'Append a batch of samples; idempotent per sample idempotencyKey',
        description:
          'The batch commits as a whole before the reply. In a case bound to a key schedule every sample names the key that served its prompt (`served`: its `keyId`, as `tokenmark probe --replay` records it, or its `cohort` and `epoch`); a sample without one, or naming a key, cohort or epoch the schedule does not have, rejects the batch with 422 E_SERVING_KEY. A case holds at most `caseSamples` samples (default 100,000; beyond: 422 E_CASE_LIMIT) and `caseBytes` bytes of text and prompts (default 256 MiB; beyond: 413 E_CASE_TOO_LARGE). Scoring runs off the event loop within the request time budget (503 E_TIMEOUT beyond it; nothing is committed). A sample whose idempotencyKey the case already holds with the same content is reported as a duplicate and not counted again; the same key with different content rejects the batch with 409.',
        params: idParams,
        body: {
          type: 'object',
          required: ['samples'],
          additionalProperties: false,
          properties: {
            samples: {
              type: 'array',
              minItems: 1,
              maxItems: app.limits.samplesBatch,
              items: {
                type: 'object',
                required: ['text'],
                additionalProperties: false,
                properties: {
                  text: { type: 'string' }, // no maxLength: see TEXTS_ARE_BOUNDED in schemas.ts
                  prompt: { type: 'string', description: 'The prompt the text answered: context for its first tokens, its tuples excluded from scoring' },
                  source: {
                    type: 'object',
                    additionalProperties: true,
                    maxProperties: 64,
                    'x-maxDepth': SOURCE_MAX_DEPTH,
                    'x-maxBytes': SOURCE_MAX_BYTES,
                    description: `Free metadata (where and when the sample was collected): at most ${SOURCE_MAX_DEPTH} levels deep and ${SOURCE_MAX_BYTES} bytes of JSON. Compared by content whatever its key order (an idempotent retry may serialise it differently).`,
                  },
                  idempotencyKey: { type: 'string', minLength: 1, maxLength: 200 },
                  served: {
                    type: 'object',
                    additionalProperties: false,
                    description: 'Cases bound to a key schedule: the key that served the prompt — `keyId`, or `cohort` and `epoch`',
                    properties: {
                      keyId: keyIdSchema,
                      cohort: { type: 'integer', minimum: 0, maximum: 2 ** 31 },
                      epoch: { type: 'integer', minimum: 0, maximum: 2 ** 31 },
                    },
                  },
                },
              },
            },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['accepted', 'duplicates', 'samples', 'case'],
            properties: {
              accepted: { type: 'integer' },
              duplicates: { type: 'integer' },
              samples: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['index', 'id', 'seq', 'status'],
                  properties: { index: { type: 'integer' }, id: { type: 'string' }, seq: { type: 'integer' }, status: { type: 'string', enum: ['created', 'duplicate'] } },
                },
              },
              case: caseSchema,
            },
          },
          ...errors(...AUTH_ERRORS, 404, 409, 422, 503, ...BODY_ERRORS),
        },
      },
    },
    async (req) => app.cases.addSamples(req.auth!.tenantId, req.params.id, req.body.samples, Date.now() + app.limits.workTimeoutMs),
  )

  app.put<{ Params: IdParams; Body: { log: string; signedHead?: Record<string, unknown> } }>(
    '/v1/cases/:id/log',
    {
      onRequest: write,
      schema: {
        tags,
        operationId: 'putCaseLog',
        summary: 'Attach the provider’s serving log to a case bound to a key schedule (the result then names the accounts behind flagged cohorts)',
        description:
          'The log as `tokenmark log` reads it (JSON lines; prompt and response texts may be stripped to keep it small, the chain still verifies) and optionally its signed head (`signLogHead`). It must verify against the case’s schedule — chain, and every record’s epoch, cohort and key — and a signed head must be valid and cover it (422 E_LOG_INVALID otherwise). The server keeps the head, the counts and which accounts each cohort served, not the records; a later upload replaces it.',
        params: idParams,
        body: {
          type: 'object',
          required: ['log'],
          additionalProperties: false,
          properties: {
            log: { type: 'string', minLength: 1, description: 'The serving log’s text (JSON lines)' },
            signedHead: { type: 'object', additionalProperties: true, description: 'The signed head file’s JSON ({head, signerId, publicKey, signature, signedAt})' },
          },
        },
        response: { 200: { ...caseSchema, description: 'The case, its result now naming the accounts' }, ...errors(...AUTH_ERRORS, 404, 422, ...BODY_ERRORS) },
      },
    },
    async (req) => app.cases.putLog(req.auth!.tenantId, req.params.id, req.body.log, req.body.signedHead as SignedLogHead | undefined),
  )

  app.get<{ Params: IdParams; Querystring: { after?: string; limit?: string } }>(
    '/v1/cases/:id/samples',
    {
      onRequest: read,
      schema: {
        tags,
        operationId: 'listSamples',
        summary: 'The case’s samples in the order they were added',
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { after: intQuery('Return samples with seq greater than this (default 0)'), limit: intQuery('Page size, 1..1000 (default 100)') },
        },
        response: {
          200: { type: 'object', required: ['samples', 'next'], properties: { samples: { type: 'array', items: sampleSchema }, next: { type: ['integer', 'null'] } } },
          ...errors(...AUTH_ERRORS, 404),
        },
      },
    },
    async (req) => app.cases.samples(req.auth!.tenantId, req.params.id, intParam('after', req.query.after, 0, 0, 2 ** 31), intParam('limit', req.query.limit, 100, 1, 1000)),
  )
}
