/**
 * The tenant's key schedules (issue 13): register one (import the files `tokenmark log schedule` writes, or
 * generate it here), list them, read one. Replies carry the public description only, never the secret.
 */
import type { FastifyInstance } from 'fastify'
import { ServerError } from '../errors.js'
import { AUTH_ERRORS, BODY_ERRORS, errors, scheduleInfoSchema } from '../schemas.js'

interface ScheduleBody {
  scheduleFile?: string
  description?: string
  cohorts?: number
  epochSeconds?: number
  start?: string
  epochs?: number
  canaries?: { name: string; accounts: string[] }[]
  scheme?: string
  params?: Record<string, unknown>
  tokenizer?: string
  name?: string
}

const GENERATE_FIELDS = ['cohorts', 'epochSeconds', 'start', 'epochs', 'canaries', 'scheme', 'params', 'tokenizer'] as const

export default async function scheduleRoutes(app: FastifyInstance): Promise<void> {
  const tags = ['schedules']
  const scheduleIdParams = {
    type: 'object',
    required: ['scheduleId'],
    additionalProperties: false,
    properties: { scheduleId: { type: 'string', minLength: 1, maxLength: 100 } },
  } as const

  app.post<{ Body: ScheduleBody }>(
    '/v1/schedules',
    {
      onRequest: app.requireScope('keys:admin'),
      schema: {
        tags,
        operationId: 'createSchedule',
        summary: 'Register a key schedule: import its secret file and public description, or generate one here',
        description:
          'Import: `scheduleFile` (the text of the secret file `tokenmark log schedule` writes, mode 0600 there) and `description` (the text of its public `.schedule.json`); the secret must open the description’s commitment. Generate: `cohorts`, `epochSeconds`, `start`, `epochs`, optional `canaries`, and the key configuration (`scheme`, `params`, `tokenizer`); the master secret then never leaves the server. Either way it is sealed at rest like a watermark key and never returned.',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            scheduleFile: { type: 'string', minLength: 1, maxLength: 10_000 },
            description: { type: 'string', minLength: 1, maxLength: 1_000_000 },
            cohorts: { type: 'integer', minimum: 1 },
            epochSeconds: { type: 'integer', minimum: 1 },
            start: { type: 'string', minLength: 1, maxLength: 100 },
            epochs: { type: 'integer', minimum: 1 },
            canaries: {
              type: 'array',
              maxItems: 1000,
              items: {
                type: 'object',
                required: ['name', 'accounts'],
                additionalProperties: false,
                properties: { name: { type: 'string', minLength: 1, maxLength: 64 }, accounts: { type: 'array', maxItems: 100_000, items: { type: 'string', minLength: 1, maxLength: 256 } } },
              },
            },
            scheme: { type: 'string', minLength: 1, maxLength: 50 },
            params: { type: 'object', additionalProperties: true },
            tokenizer: { type: 'string', minLength: 1, maxLength: 200 },
            name: { type: 'string', minLength: 1, maxLength: 200 },
          },
        },
        response: { 201: { ...scheduleInfoSchema, description: 'The registered schedule’s public info' }, ...errors(...AUTH_ERRORS, 409, ...BODY_ERRORS) },
      },
    },
    async (req, reply) => {
      const b = req.body
      const tenant = req.auth!.tenantId
      const schedules = app.keyStore.schedules
      if (b.scheduleFile !== undefined || b.description !== undefined) {
        if (b.scheduleFile === undefined || b.description === undefined) throw new ServerError('E_VALIDATION', 'an imported schedule needs both "scheduleFile" and "description"')
        if (GENERATE_FIELDS.some((f) => b[f] !== undefined)) throw new ServerError('E_VALIDATION', 'body has schedule files and generation fields; the files carry their own parameters')
        return reply.status(201).send(schedules.importFiles(tenant, b.scheduleFile, b.description, b.name))
      }
      if (b.cohorts === undefined || b.epochSeconds === undefined || b.start === undefined || b.epochs === undefined || b.scheme === undefined) {
        throw new ServerError('E_VALIDATION', 'body must have "scheduleFile" and "description" (to import a schedule), or "cohorts", "epochSeconds", "start", "epochs" and "scheme" (to generate one)')
      }
      const config = { scheme: b.scheme, ...(b.params !== undefined ? { params: b.params } : {}), ...(b.tokenizer !== undefined ? { tokenizer: b.tokenizer } : {}) }
      return reply
        .status(201)
        .send(schedules.generate(tenant, { config, cohorts: b.cohorts, epochSeconds: b.epochSeconds, start: b.start, epochs: b.epochs, canaries: b.canaries ?? [] }, b.name))
    },
  )

  app.get(
    '/v1/schedules',
    {
      onRequest: app.requireScope(),
      schema: {
        tags,
        operationId: 'listSchedules',
        summary: 'The tenant’s key schedules: ids, commitments, public descriptions',
        response: { 200: { type: 'object', required: ['schedules'], properties: { schedules: { type: 'array', items: scheduleInfoSchema } } }, ...errors(...AUTH_ERRORS) },
      },
    },
    async (req) => ({ schedules: app.keyStore.schedules.list(req.auth!.tenantId) }),
  )

  app.get<{ Params: { scheduleId: string } }>(
    '/v1/schedules/:scheduleId',
    {
      onRequest: app.requireScope(),
      schema: {
        tags,
        operationId: 'getSchedule',
        summary: 'One key schedule’s public info',
        params: scheduleIdParams,
        response: { 200: scheduleInfoSchema, ...errors(...AUTH_ERRORS, 404) },
      },
    },
    async (req) => app.keyStore.schedules.info(req.auth!.tenantId, req.params.scheduleId),
  )
}
