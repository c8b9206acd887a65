// The second baseline of the server benchmark (issue 12's proposed goal): a fastify echo that does the protocol
// duties every request to the service has, and nothing else — a per-request logger (pino at the service's level,
// a request id per request), request and connection timeouts, @fastify/helmet's headers plus request id and
// cache-control, a bearer token checked by its SHA-256 against a table, and the JSON body validated against a
// schema (strict, no coercion). What the service spends beyond this and beyond detect() is its own bookkeeping:
// the work pool, per-tenant queue and deadlines, key lookup, rate limit and the reply's shape.
// Prints {"listening": url} like dist/bin.js. Env: BENCH_TOKEN (the accepted token), BENCH_LOG_LEVEL (warn).
import { createHash, randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { helmetHeaders } from '../dist/app.js'

const level = process.env.BENCH_LOG_LEVEL ?? 'warn'
const tokens = new Map([[createHash('sha256').update(process.env.BENCH_TOKEN ?? '').digest('hex'), { tenant: 'bench' }]])

// helmet's headers captured once and set in a sync hook, by the service's own function (dist/app.js)
const security = await helmetHeaders()

const app = Fastify({
  logger: { level },
  genReqId: () => randomUUID(),
  bodyLimit: 2 * 1024 * 1024,
  ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  requestTimeout: 30_000,
  connectionTimeout: 60_000,
  http: { headersTimeout: 30_000, connectionsCheckingInterval: 1000 },
})
app.addHook('onRequest', (req, reply, done) => {
  reply.headers(security)
  const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')
  const who = m ? tokens.get(createHash('sha256').update(m[1]).digest('hex')) : undefined
  if (!who) return reply.code(401).send({ error: { code: 'E_UNAUTHORIZED', message: 'a valid API token is required' } })
  req.who = who
  done()
})
app.addHook('onSend', (req, reply, payload, done) => {
  reply.header('x-request-id', req.id)
  reply.header('cache-control', 'no-store')
  done(null, payload)
})
const body = {
  type: 'object',
  required: ['text'],
  additionalProperties: false,
  properties: { text: { type: 'string', maxLength: 2 * 1024 * 1024 }, keyId: { type: 'string', maxLength: 128 } },
}
app.post('/v1/detect', { schema: { body } }, async (req) => req.body)
await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(JSON.stringify({ listening: `http://127.0.0.1:${app.server.address().port}` }) + '\n')
process.once('SIGTERM', () => app.close().then(() => process.exit(0)))
