/**
 * JSON schemas shared by the routes: request validation, reply serialisation and the OpenAPI document
 * all come from these declarations. Reply schemas list every field on purpose: fastify serialises
 * replies from them and drops anything they do not name, so no unlisted field (say, a secret a future
 * change put on an object) can leak.
 */

import { OUTCOME_SCHEMA, REASON_NAMES } from '@tokenmark/core'

export const errorSchema = {
  type: 'object',
  description: 'Every error: a stable code and a message that says what to do next.',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string', examples: ['E_VALIDATION'] }, message: { type: 'string' } },
    },
  },
} as const

/** Error replies for the given statuses. */
type ErrorReply = Omit<typeof errorSchema, 'description'> & { description: string }

export function errors(...statuses: number[]): Record<string, ErrorReply> {
  const text: Record<number, string> = {
    400: 'Invalid request (the message names the field)',
    401: 'Missing or invalid API token',
    403: 'The token lacks a scope this request needs',
    404: 'Not found (also for another tenant’s resources)',
    406: 'None of the media types in Accept can be produced (the message lists those that can)',
    409: 'Conflict with existing state',
    413: 'Request body (or the case it would grow) larger than the configured limit',
    415: 'Content-Type is not application/json',
    422: 'A limit of the resource would be exceeded (the message names it)',
    429: 'Rate limit for this token exceeded; see Retry-After',
    503: 'The work did not finish within the request time budget (E_TIMEOUT), the server is busy or shutting down (E_UNAVAILABLE), or the database cannot be written (E_STORE_*)',
  }
  const out: Record<string, ErrorReply> = {}
  for (const s of statuses) out[String(s)] = { ...errorSchema, description: text[s] ?? 'Error' }
  return out
}

/** Errors every authenticated JSON route can return. */
export const AUTH_ERRORS = [400, 401, 403, 429]
export const BODY_ERRORS = [413, 415]

// TEXTS_ARE_BOUNDED: text fields (`text`, `texts`, a sample's `prompt`) carry no maxLength. The body limit
// already bounds them (JSON spends at least one byte per UTF-16 unit of a string), and ajv's maxLength
// walks the whole string counting code points: 3.5 µs per 2 KB text on every request, measured.

export const keyIdSchema = { type: 'string', minLength: 1, maxLength: 100, description: 'Key id (tmk_…)' } as const

const paramsSchema = { type: 'object', description: 'Scheme parameters', additionalProperties: true } as const

export const keyInfoSchema = {
  type: 'object',
  required: ['keyId', 'commitment', 'scheme', 'params', 'tokenizer', 'origin', 'createdAt'],
  properties: {
    keyId: { type: 'string' },
    commitment: { type: 'string', description: 'SHA-256 commitment to the secret and configuration (public)' },
    scheme: { type: 'string' },
    params: paramsSchema,
    tokenizer: { type: 'string' },
    name: { type: ['string', 'null'] },
    origin: { type: 'string', enum: ['generated', 'imported'] },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const

/** The fields of `tokenmark detect --json`: core's Outcome (OUTCOME_SCHEMA) and what was tested. */
export const detectionSchema = {
  type: 'object',
  required: [...OUTCOME_SCHEMA.required, 'scheme', 'params', 'keyId', 'tokenizer'],
  properties: {
    ...OUTCOME_SCHEMA.properties,
    scheme: { type: 'string' },
    params: paramsSchema,
    keyId: { type: 'string' },
    tokenizer: { type: 'string' },
    normalization: {
      type: 'object',
      properties: {
        applied: { type: 'array', items: { type: 'string' } },
        changes: { type: 'object', additionalProperties: { type: 'number' } },
      },
    },
    keys: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          keyId: { type: 'string' },
          scheme: { type: 'string' },
          pValue: { type: 'number' },
          log10P: { type: 'number' },
          zScore: { type: 'number' },
          tokensScored: { type: 'integer' },
        },
      },
    },
    window: {
      type: 'object',
      properties: {
        startToken: { type: 'integer' },
        endToken: { type: 'integer' },
        startChar: { type: 'integer' },
        endChar: { type: 'integer' },
        pValue: { type: 'number' },
        log10P: { type: 'number' },
        log10PUncorrected: { type: 'number' },
        windowsExamined: { type: 'integer' },
        tokensScored: { type: 'integer' },
      },
    },
    decision: {
      type: 'object',
      description: 'With a window search: one verdict over the whole-text and span tests, p = 2 × the smaller (Bonferroni), and which test was smaller',
      properties: { test: { type: 'string', enum: ['text', 'window'] }, pValue: { type: 'number' }, log10P: { type: 'number' } },
    },
    marks: {
      type: 'array',
      description: 'Per-token detail; only for tokens with the detail scope',
      items: {
        type: 'object',
        properties: {
          token: { type: 'integer' },
          start: { type: 'integer' },
          end: { type: 'integer' },
          value: { type: ['number', 'null'] },
          reason: { type: 'string', enum: [...REASON_NAMES] },
        },
      },
    },
  },
} as const

/** The corpus test of a case: core's CorpusResult (OUTCOME_SCHEMA and the corpus it ran on). */
export const caseResultSchema = {
  type: 'object',
  required: [...OUTCOME_SCHEMA.required, 'texts', 'scheme', 'keyId', 'filter'],
  properties: {
    ...OUTCOME_SCHEMA.properties,
    texts: { type: 'integer' },
    scheme: { type: 'string' },
    keyId: { type: 'string' },
    filter: { type: 'boolean', description: 'Whether an emission filter restricted scoring' },
  },
} as const

/** One group test of a schedule result (core's GroupTest): a cohort's or an epoch's. */
const groupTestProperties = {
  tokensScored: { type: 'integer' },
  value: { type: 'number', description: 'The statistic over the group’s scored tuples' },
  log10P: { type: 'number' },
  pValue: { type: 'number' },
  adjustedLog10P: { type: 'number', description: 'Holm-adjusted log10 p-value within the family (all cohorts, or all epochs, of the schedule)' },
  flagged: { type: 'boolean', description: 'Adjusted p-value ≤ alpha (and tokens scored)' },
} as const

/**
 * The schedule test of a case bound to a key schedule: core's ScheduleResult (what `tokenmark scan --schedule
 * --json` prints) with `detected` and the number of texts.
 */
export const scheduleCaseResultSchema = {
  type: 'object',
  description: 'Keyed replay (docs/spec.md#replay): every sample scored under the key that served its prompt. The global test is one exact test pooled over the serving keys; cohorts and epochs are tested with Holm’s correction over the whole schedule.',
  required: ['scheduleId', 'globalRule', 'detected', 'alpha', 'pValue', 'log10P', 'tokensSeen', 'tokensScored', 'correction', 'cohortFamily', 'cohorts', 'epochs', 'cohortsFlagged', 'epochsFlagged', 'keysUsed', 'texts'],
  properties: {
    scheduleId: { type: 'string' },
    globalRule: { type: 'string', enum: ['pooled', 'bonferroni'] },
    detected: { type: 'boolean', description: 'Global pValue ≤ alpha' },
    texts: { type: 'integer' },
    tokensSeen: { type: 'integer' },
    tokensScored: { type: 'integer' },
    log10P: { type: 'number', description: 'log10 of the global p-value; finite where pValue underflows to 0' },
    pValue: { type: 'number' },
    zScore: { type: 'number' },
    eValue: { type: 'number', description: 'Capped at the largest double; see log10E' },
    log10E: { type: 'number' },
    alpha: { type: 'number', description: 'Level of `detected`, and family-wise error rate at which cohorts and epochs are flagged' },
    correction: { type: 'string', enum: ['holm'] },
    cohortFamily: { type: 'integer', description: 'Cohorts in the family (B + canaries), whatever the samples touched' },
    cohorts: { type: 'array', items: { type: 'object', properties: { cohort: { type: 'integer' }, label: { type: 'string', description: '"cohort/<i>" or "canary/<name>"' }, ...groupTestProperties } } },
    epochs: { type: 'array', items: { type: 'object', properties: { epoch: { type: 'integer' }, ...groupTestProperties } } },
    cohortsFlagged: { type: 'array', items: { type: 'integer' } },
    epochsFlagged: { type: 'array', items: { type: 'integer' } },
    keysUsed: { type: 'integer', description: '(cohort, epoch) keys that scored at least one tuple' },
    accounts: {
      type: 'array',
      description: 'With a serving log uploaded (PUT /v1/cases/{id}/log): per flagged cohort, the accounts the log shows it served over every epoch',
      items: { type: 'object', properties: { cohort: { type: 'integer' }, label: { type: 'string' }, accounts: { type: 'array', items: { type: 'string' } } } },
    },
    log: {
      type: 'object',
      description: 'With a serving log uploaded: its integrity (the hash-chain head, record counts, the signed head’s check)',
      properties: {
        records: { type: 'integer' },
        head: { type: 'string' },
        withText: { type: 'integer' },
        signature: {
          type: ['object', 'null'],
          properties: { signerId: { type: 'string' }, signedAt: { type: 'string' }, valid: { type: 'boolean' }, coversHead: { type: 'boolean' } },
        },
      },
    },
  },
} as const

/** A case's result: the corpus test of a key's case, or the schedule test of a case bound to a key schedule. */
export const anyCaseResultSchema = { anyOf: [caseResultSchema, scheduleCaseResultSchema] } as const

export const caseSchema = {
  type: 'object',
  required: ['id', 'name', 'keyId', 'scheduleId', 'scheme', 'samples', 'tokensScored', 'result'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    description: { type: ['string', 'null'] },
    keyId: { type: ['string', 'null'], description: 'The key the case is tested against (null for a case bound to a key schedule)' },
    scheduleId: { type: ['string', 'null'], description: 'The key schedule the case is bound to (tmks_…), or null' },
    scheme: { type: 'string' },
    tokenizer: { type: 'string' },
    dedup: { type: 'boolean' },
    normalize: { type: 'boolean' },
    samples: { type: 'integer', description: 'Number of samples in the case' },
    tokensTotal: { type: 'integer' },
    tokensScored: { type: 'integer' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    result: anyCaseResultSchema,
  },
} as const

export const sampleSchema = {
  type: 'object',
  required: ['id', 'seq', 'text', 'tokens', 'createdAt'],
  properties: {
    id: { type: 'string' },
    seq: { type: 'integer' },
    idempotencyKey: { type: ['string', 'null'] },
    text: { type: 'string' },
    prompt: { type: ['string', 'null'] },
    source: { type: ['object', 'null'], additionalProperties: true },
    servedKeyId: { type: ['string', 'null'], description: 'The key that served the sample’s prompt (cases bound to a key schedule)' },
    tokens: { type: 'integer' },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const

/** A registered key schedule: public parts only (its master secret never leaves the key store). */
export const scheduleInfoSchema = {
  type: 'object',
  required: ['scheduleId', 'commitment', 'origin', 'createdAt', 'ringSize', 'description'],
  properties: {
    scheduleId: { type: 'string', description: '"tmks_" + the first 16 hex digits of the commitment' },
    commitment: { type: 'string', description: 'SHA-256 commitment to the master secret and the description (public)' },
    name: { type: ['string', 'null'] },
    origin: { type: 'string', enum: ['generated', 'imported'] },
    createdAt: { type: 'string', format: 'date-time' },
    ringSize: { type: 'integer', description: 'K = (cohorts + canaries) × epochs: every key the schedule can serve' },
    description: {
      type: 'object',
      description: 'The public description (the `.schedule.json` file `tokenmark log schedule` writes)',
      properties: {
        format: { type: 'string' },
        version: { type: 'integer' },
        scheduleId: { type: 'string' },
        commitment: { type: 'string' },
        config: { type: 'object', additionalProperties: true, properties: { scheme: { type: 'string' }, params: paramsSchema, tokenizer: { type: 'string' } } },
        cohorts: { type: 'integer', description: 'B: ordinary cohorts per epoch' },
        epochSeconds: { type: 'integer' },
        start: { type: 'string', format: 'date-time' },
        epochs: { type: 'integer' },
        canaries: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, accounts: { type: 'array', items: { type: 'string' } } } } },
      },
    },
  },
} as const

export const tokenInfoSchema = {
  type: 'object',
  required: ['id', 'tenantId', 'name', 'scopes', 'createdAt', 'revoked'],
  properties: {
    id: { type: 'string' },
    tenantId: { type: 'string' },
    name: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'string', format: 'date-time' },
    revoked: { type: 'boolean' },
  },
} as const

export const idParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 100 } },
} as const

/**
 * The 200 reply of POST /v1/detect. One object schema rather than anyOf: fast-json-stringify serialises it
 * without trying branches, and the document still says which fields each form carries.
 */
export const detectReplySchema = {
  type: 'object',
  description: 'For `text`: one detection result (the fields of `tokenmark detect --json`). For `texts`: `{ results }` in input order.',
  properties: { ...detectionSchema.properties, results: { type: 'array', items: detectionSchema } },
} as const
