/**
 * Signed evidence for legal teams: a case's attribution report (HTML, Markdown or JSON by `Accept`), its
 * evidence bundle, and the tenant's public signing key that verifies it (`tokenmark verify --public-key`).
 */
import { EVIDENCE_MEDIA_TYPE, publicKeyFile, REPORT_MEDIA_TYPES, type ReportFormat } from '@tokenmark/evidence'
import type { FastifyInstance } from 'fastify'
import { CaseEvidence } from '../evidence.js'
import { AUTH_ERRORS, errors, idParams } from '../schemas.js'
import { negotiate } from './accept.js'

interface IdParams {
  id: string
}

/** Bare media types the report route offers, in order of preference (no Accept, or `*∕*`: HTML). */
const REPORT_TYPES = { 'text/html': 'html', 'text/markdown': 'md', 'application/json': 'json' } as const satisfies Record<string, ReportFormat>
type ReportType = keyof typeof REPORT_TYPES
const REPORT_OFFER = Object.keys(REPORT_TYPES) as ReportType[]

const BUNDLE_SHA_HEADER = 'x-tokenmark-bundle-sha256'

const publicKeySchema = {
  type: 'object',
  description:
    'The tenant’s Ed25519 public key as a tokenmark public key file: save the body as is and pass it to `tokenmark verify BUNDLE --public-key FILE`.',
  required: ['format', 'version', 'algorithm', 'signerId', 'publicKey'],
  properties: {
    format: { type: 'string', enum: ['tokenmark-signing-public-key'] },
    version: { type: 'integer', enum: [1] },
    algorithm: { type: 'string', enum: ['ed25519'] },
    signerId: { type: 'string', description: '"tms_" + the first 16 hex digits of SHA-256(publicKey)' },
    publicKey: { type: 'string', description: '32 bytes, base64url without padding' },
  },
} as const

export default async function evidenceRoutes(app: FastifyInstance): Promise<void> {
  const read = app.requireScope('cases:read')
  const tags = ['evidence']
  const caseErrors = errors(...AUTH_ERRORS, 404, 406, 409)
  caseErrors['409'] = { ...caseErrors['409'], description: 'The case has no samples yet' }
  const shaHeader = { [BUNDLE_SHA_HEADER]: { type: 'string', description: 'SHA-256 (hex) of the evidence bundle the reply is or renders' } }

  app.get<{ Params: IdParams }>(
    '/v1/cases/:id/report',
    {
      onRequest: read,
      schema: {
        tags,
        operationId: 'getCaseReport',
        summary: 'The case’s attribution report, rendered from its signed evidence bundle',
        description:
          'Content negotiation on Accept: text/html (one self-contained page, the default), text/markdown or application/json (the report model). The report states the case’s result (the same numbers as /v1/cases/{id}/result) and the bundle’s verification against the tenant’s signing key.',
        params: idParams,
        response: {
          200: {
            description: 'The report',
            headers: shaHeader,
            content: {
              'text/html': { schema: { type: 'string', description: 'Self-contained HTML page (inline SVG, no scripts, no external requests)' } },
              'text/markdown': { schema: { type: 'string', description: 'The same content as Markdown' } },
              'application/json': { schema: { type: 'object', additionalProperties: true, description: 'The report model of @tokenmark/evidence (buildReport)' } },
            },
          },
          ...caseErrors,
        },
      },
    },
    async (req, reply) => {
      const type = negotiate(req.headers.accept, REPORT_OFFER)
      const { text, file, bundle } = await app.evidence.report(req.auth!.tenantId, req.params.id, REPORT_TYPES[type], Date.now() + app.limits.workTimeoutMs)
      reply.header('vary', 'Accept').header(BUNDLE_SHA_HEADER, bundle.sha256).type(REPORT_MEDIA_TYPES[REPORT_TYPES[type]])
      // A large report was written to a spool file by the worker: streamed from there (and deleted).
      if (file !== undefined) return reply.header('content-length', String(CaseEvidence.fileSize(file))).send(app.evidence.open({ file }, true))
      return reply.send(text)
    },
  )

  app.get<{ Params: IdParams }>(
    '/v1/cases/:id/bundle',
    {
      onRequest: read,
      schema: {
        tags,
        operationId: 'getCaseBundle',
        summary: 'The case’s evidence bundle (.tmev), signed with the tenant’s signing key',
        description:
          'Canonical MessagePack (docs/evidence-format.md): input hashes and texts, key id and commitment (never the secret), statistics and results, Ed25519 signature. Verify with `tokenmark verify BUNDLE --public-key FILE` and the public key from /v1/signing-key.',
        params: idParams,
        response: {
          200: {
            description: 'The signed bundle',
            headers: shaHeader,
            content: { [EVIDENCE_MEDIA_TYPE]: { schema: { type: 'string', contentMediaType: EVIDENCE_MEDIA_TYPE, description: 'The bundle bytes' } } },
          },
          ...caseErrors,
        },
      },
    },
    async (req, reply) => {
      negotiate(req.headers.accept, [EVIDENCE_MEDIA_TYPE])
      const bundle = await app.evidence.bundle(req.auth!.tenantId, req.params.id, Date.now() + app.limits.workTimeoutMs)
      return reply
        .header(BUNDLE_SHA_HEADER, bundle.sha256)
        .header('content-disposition', `attachment; filename="${bundle.fileName}"`)
        .header('content-length', String(bundle.size))
        .type(EVIDENCE_MEDIA_TYPE)
        .send(app.evidence.open(bundle))
    },
  )

  app.get(
    '/v1/signing-key',
    {
      onRequest: app.requireScope(),
      schema: {
        tags,
        operationId: 'getSigningKey',
        summary: 'The tenant’s public signing key (generated on first use), as a public key file',
        response: { 200: publicKeySchema, ...errors(...AUTH_ERRORS) },
      },
    },
    async (req) => JSON.parse(publicKeyFile(app.keyStore.signingKey(req.auth!.tenantId).publicKey)) as Record<string, unknown>,
  )
}
