/**
 * buildServer: the fastify application. A tree of encapsulated plugins; the root instance is decorated
 * with the store, the key store, the case service and the access control, so any route plugin added to
 * routes/index.ts can use them (see README, "Adding a route").
 */
import { randomUUID } from 'node:crypto'
import type { Writable } from 'node:stream'
import helmet from '@fastify/helmet'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { TokenmarkError, VERSION } from '@tokenmark/core'
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import { ajvBounds, jsonDepthExceeds } from './json-bounds.js'
import { clientErrorBody, STATUS_TEXT, storeErrorReply } from './errors.js'
import { Auth, type AuthContext, type Scope } from './auth.js'
import { DetectPool } from './detect-pool.js'
import { RateLimiter, windowText } from './rate-limit.js'
import { CaseService, DEFAULT_CASE_LIMITS } from './cases.js'
import { loadMasterSecret } from './crypto.js'
import { CaseEvidence } from './evidence.js'
import { ServerError, statusForCoreError, type ErrorBody } from './errors.js'
import { KeyStore } from './keystore.js'
import { routePlugins, type RoutePlugin } from './routes/index.js'
import { openStore } from './open-store.js'
import type { Store } from './store.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The store, SQLite or PostgreSQL (closed in onClose). */
    store: Store
    /** The tenants' watermark keys and evidence signing keys, sealed at rest. */
    keyStore: KeyStore
    /** Cases, samples and their merged accumulators. */
    cases: CaseService
    /** Signed evidence bundles and reports of cases. */
    evidence: CaseEvidence
    /** Tenants and API tokens. */
    access: Auth
    /** onRequest hook: authenticates the bearer token and requires every scope given. */
    requireScope: (...scopes: Scope[]) => (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void
    /** Server limits (body size, batch sizes) as configured. */
    limits: ServerLimits
    /** The work pool: detection, case scoring and evidence, inline or on worker threads, fair per tenant. */
    detector: DetectPool
  }
  interface FastifyRequest {
    /** Set by requireScope; null on routes without authentication. */
    auth: AuthContext | null
  }
}

export interface ServerLimits {
  /** Maximum request body in bytes (default 2 MB). */
  bodyLimit: number
  /** Texts per /v1/detect request (default 64). */
  detectBatch: number
  /** Samples per /v1/cases/:id/samples request (default 1000). */
  samplesBatch: number
  /** Minimum bytes of per-batch accumulators before a case's merged accumulator is rewritten (default 1 MiB). */
  checkpointMinBytes: number
  /** Time to receive a whole request, headers and body, before it is answered 408 (default 30 s). */
  requestTimeoutMs: number
  /** Time to receive a request's headers (default 10 s). */
  headersTimeoutMs: number
  /** A connection idle (no bytes either way) this long is closed (default 60 s). */
  idleTimeoutMs: number
  /** Open connections at once; more are refused at accept (default 1024). */
  maxConnections: number
  /**
   * A /v1/detect request whose work — UTF-8 bytes × keys, doubled for `window` and for `marks` — is at most
   * this is detected on the event loop rather than handed to a worker (default 1 Ki: where detection costs about
   * what the hand-off does, ~60 µs; larger inline bounds cost throughput and p99 on 2 cores, see README "Work
   * pool"). 0 sends every detection to the pool.
   */
  inlineDetectWork: number
  /** Time budget of a request's work (detection, scoring, evidence) before it is abandoned with 503 E_TIMEOUT (default 30 s). */
  workTimeoutMs: number
  /** Nesting depth of a JSON body (arrays and objects), checked before it is parsed (default 32). */
  jsonDepth: number
  /** A revoked token stops working on every instance sharing the database within this time (default 5 s). */
  tokenRecheckMs: number
  /** Samples per case (default 100,000); a batch beyond it is refused with 422 E_CASE_LIMIT. */
  caseSamples: number
  /** UTF-8 bytes of texts and prompts per case (default 256 MiB); a batch beyond it is refused with 413 E_CASE_TOO_LARGE. */
  caseBytes: number
  /** Bytes of decoded case evidence kept in memory (default 256 MiB). */
  caseCacheBytes: number
  /** Bytes of evidence bundles kept in memory (default 64 MiB). */
  bundleCacheBytes: number
  /**
   * A bundle or report of at least this many bytes is written by the worker to a spool file and streamed
   * from it, never held whole on the event loop (default 8 MiB).
   */
  bundleStreamBytes: number
  /** Bytes of spooled bundles kept on disk for later requests (default 1 GiB); beyond it the least recently used are deleted. */
  bundleSpoolBytes: number
}

export const DEFAULT_LIMITS: ServerLimits = {
  bodyLimit: 2 * 1024 * 1024,
  detectBatch: 64,
  samplesBatch: 1000,
  checkpointMinBytes: 1 << 20,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  maxConnections: 1024,
  inlineDetectWork: 1024,
  workTimeoutMs: 30_000,
  jsonDepth: 32,
  tokenRecheckMs: 5_000,
  caseSamples: DEFAULT_CASE_LIMITS.maxSamples,
  caseBytes: DEFAULT_CASE_LIMITS.maxBytes,
  caseCacheBytes: 256 * 1024 * 1024,
  bundleCacheBytes: 64 * 1024 * 1024,
  bundleStreamBytes: 8 * 1024 * 1024,
  bundleSpoolBytes: 1024 * 1024 * 1024,
}

export interface RateLimitOptions {
  /** Requests per token per window (default 600). */
  max: number
  /** Window in milliseconds (default 60 s). */
  windowMs: number
}

export interface BuildServerOptions {
  /**
   * Database: a SQLite file, ":memory:" (default), or a postgres:// URL (store-pg.ts; replicas may share
   * it). Ignored when `store` is given.
   */
  db?: string
  /** An open store to use (the server closes it on close). */
  store?: Store
  /**
   * Master secret for the key store (32 bytes, or text as in TOKENMARK_MASTER_SECRET). Default: the
   * environment, else `<db>.master` next to a file database (generated on first start).
   */
  masterSecret?: string | Uint8Array
  /** Environment to read TOKENMARK_* settings from (default process.env). */
  env?: NodeJS.ProcessEnv
  /** false, true (info level to stdout) or a level; `logStream` redirects log lines (tests). */
  logger?: boolean | 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
  logStream?: Writable
  limits?: Partial<ServerLimits>
  /** false disables rate limiting (benchmarks of raw throughput only). */
  rateLimit?: Partial<RateLimitOptions> | false
  /** Extra route plugins, registered after the built-in ones. */
  plugins?: RoutePlugin[]
  /**
   * Worker threads for detection, case scoring and evidence (default 0: inline on the event loop).
   * Workers need the built code (dist); `startServer` uses one fewer than the available cores.
   */
  detectWorkers?: number
  /** Trust X-Forwarded-* (behind a proxy). Default false. */
  trustProxy?: boolean
}

/** Paths of log fields that may hold secrets; pino replaces them with "[redacted]". */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'masterSecret',
  '*.masterSecret',
  'keyFile',
  '*.keyFile',
]

/**
 * One access line per request, when it completes, instead of fastify's two ("incoming request" and
 * "request completed"): at the default level the first line cost about 8 % of /v1/detect's throughput and
 * carries nothing the second lacks, which now names the method and URL itself.
 */
class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    const line = { req, res: reply, responseTime: reply.elapsedTime }
    if (error) reply.log.error({ ...line, err: error }, 'request errored')
    else reply.log.info(line, 'request completed')
  }
}

export async function buildServer(opts: BuildServerOptions = {}): Promise<FastifyInstance> {
  const env = opts.env ?? process.env
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...opts.limits }
  const store = opts.store ?? openStore(opts.db ?? ':memory:')
  // A SQLite file: the master secret may live next to it and the evidence worker may read it directly.
  const fileDb = store.kind === 'sqlite' && store.path !== ':memory:' && store.path !== ''
  let keyStore: KeyStore
  let masterOrigin: { origin: string; path?: string }
  try {
    const master = loadMasterSecret({
      secret: opts.masterSecret,
      env,
      defaultPath: fileDb ? `${store.path}.master` : undefined,
    })
    masterOrigin = { origin: master.origin, path: master.path }
    try {
      keyStore = new KeyStore(store, master.secret)
    } finally {
      master.secret.fill(0)
    }
    master.persist?.()
  } catch (e) {
    if (opts.store === undefined) store.close()
    throw e
  }

  const logger: FastifyServerOptions['logger'] =
    opts.logger === false || (opts.logger === undefined && opts.logStream === undefined)
      ? false
      : {
          level: typeof opts.logger === 'string' ? opts.logger : 'info',
          redact: { paths: REDACT_PATHS, censor: '[redacted]' },
          ...(opts.logStream ? { stream: opts.logStream } : {}),
        }

  const securityHeaders = await helmetHeaders()
  const app = Fastify({
    logger,
    bodyLimit: limits.bodyLimit,
    genReqId: () => randomUUID(),
    logController: new AccessLog(),
    trustProxy: opts.trustProxy ?? false,
    // Bodies are strict: no type coercion ("5" is not 5), unknown fields rejected, not stripped.
    // Query strings are strings too; routes parse their numbers (routes/query.ts).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false }, plugins: [ajvBounds as never] },
    // Answer in-flight requests on close, but drop idle keep-alive sockets at once.
    forceCloseConnections: 'idle',
    // Requests that arrive on a kept-alive connection after close() began get our own 503 (below).
    return503OnClosing: false,
    // Slow clients (a body trickled a byte at a time, headers never finished) lose their connection
    // instead of holding it forever (issue 12). Node checks these every connectionsCheckingInterval.
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    // Node ignores requestTimeout when headersTimeout exceeds it, hence the min.
    http: { headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs), connectionsCheckingInterval: Math.max(50, Math.min(1000, limits.requestTimeoutMs >> 2)) },
    // Router errors (a path with bad %-encoding, an id past maxParamLength) get the one error format.
    frameworkErrors: (err, req, reply) => sendError(err, req, reply),
    // Errors of Node's HTTP parser (malformed request, headers too large) arrive before any request
    // exists: answered on the raw socket, still in the one error format with an id and the security headers.
    clientErrorHandler: (err: Error & { code?: string }, socket) => rawClientError(err, socket),
  })
  app.server.maxConnections = limits.maxConnections

  if (masterOrigin.origin === 'generated') {
    app.log.warn({ path: masterOrigin.path }, 'generated a new master secret for the key store; back this file up (without it stored keys cannot be decrypted)')
  } else {
    app.log.info({ origin: masterOrigin.origin, path: masterOrigin.path }, 'master secret loaded')
  }

  // JSON only: without this, fastify would parse text/plain bodies and answer 400 instead of 415.
  app.removeContentTypeParser('text/plain')
  // JSON bodies: nesting depth checked by a linear scan before parsing (a 2 MB body of nested arrays
  // costs ~1 s of event loop to parse and validate otherwise), then fastify's own parser.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string
    if (jsonDepthExceeds(text, limits.jsonDepth)) return done(new ServerError('E_VALIDATION', `body is nested deeper than ${limits.jsonDepth} levels`), undefined)
    parseJson(req, text, done)
  })

  const access = new Auth(store, { recheckMs: limits.tokenRecheckMs })
  const detector = new DetectPool(opts.detectWorkers ?? 0, { inlineWork: limits.inlineDetectWork })
  detector.onDegraded = (err) => app.log.error({ err }, 'detection workers keep failing; detecting on the event loop from now on')
  const cases = new CaseService(store, keyStore, { checkpointMinBytes: limits.checkpointMinBytes, pool: detector, maxSamples: limits.caseSamples, maxBytes: limits.caseBytes, cacheBytes: limits.caseCacheBytes })
  app.decorate('detector', detector)
  app.decorate('store', store)
  app.decorate('keyStore', keyStore)
  app.decorate('cases', cases)
  const evidence = new CaseEvidence(cases, keyStore, { pool: detector, dbPath: fileDb ? store.path : undefined, cacheBytes: limits.bundleCacheBytes, streamBytes: limits.bundleStreamBytes, spoolBytes: limits.bundleSpoolBytes })
  evidence.onMismatch = (detail) => app.log.error(detail, 'evidence bundle disagrees with its case result; refused')
  app.decorate('evidence', evidence)
  app.decorate('access', access)
  app.decorate('limits', limits)
  app.decorateRequest('auth', null)
  const rl = opts.rateLimit === false ? undefined : { max: 600, windowMs: 60_000, ...opts.rateLimit }
  const limiter = rl ? new RateLimiter(rl.max, rl.windowMs) : undefined
  const limitedFor = rl ? `rate limit of ${rl.max} requests per ${windowText(rl.windowMs)} exceeded for this token; retry after ` : ''
  // Per-request hooks are callback-style, not async: an async hook costs a promise and a microtask turn
  // on every request, measurable on /v1/detect's hot path. Authentication, then the token's rate limit
  // (rate-limit.ts), both before the body is read.
  app.decorate('requireScope', (...scopes: Scope[]) => {
    return (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
      let ctx: AuthContext
      try {
        ctx = access.authenticate(req.headers.authorization)
      } catch (e) {
        return done(e as Error)
      }
      req.auth = ctx
      if (limiter) {
        const wait = limiter.hit(ctx.tokenId)
        if (wait > 0) {
          reply.header('retry-after', String(wait))
          return done(new ServerError('E_RATE_LIMITED', `${limitedFor}${wait} s`))
        }
      }
      for (const s of scopes) {
        if (!ctx.scopes.has(s)) return done(new ServerError('E_FORBIDDEN', `this token lacks the "${s}" scope`))
      }
      done()
    }
  })

  // While closing, replies to requests already in flight end their keep-alive connection, so the
  // process exits as soon as they are answered instead of after the keep-alive timeout.
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  // Security headers: @fastify/helmet builds a new helmet middleware on every request (about 60 % of
  // a small request's CPU in our measurements), so the headers it produces are computed once here, by
  // the plugin itself on a throwaway instance, and set on every reply by one cheap hook (which is also
  // the shutdown check: one hook per request, not two). The plugin is not registered on the app itself:
  // even with `global: false` it adds an async hook to every request, and no route needs a per-request
  // policy or nonce (a route that does can register it in its scope).
  app.addHook('onRequest', (_req, reply, done) => {
    reply.headers(securityHeaders)
    if (closing) return done(new ServerError('E_UNAVAILABLE', 'the server is shutting down; retry on another instance or after it restarts'))
    done()
  })
  app.addHook('onSend', (req, reply, payload, done) => {
    reply.header('x-request-id', req.id)
    if (req.auth) reply.header('cache-control', 'no-store')
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })
  app.addHook('onClose', async () => {
    await detector.close()
    evidence.close()
    store.close()
  })

  function sendError(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): FastifyReply {
    const { status, body } = errorReply(err)
    if (status >= 500 && status !== 503) req.log.error({ err }, 'request failed')
    else req.log.info({ code: body.error.code, status }, 'request rejected')
    // A request refused before its body was read (no token, rate limited, a bad URL): close the
    // connection rather than read the rest, which a hostile client may trickle forever.
    if (!req.raw.complete) reply.header('connection', 'close')
    return reply.headers(securityHeaders).header('x-request-id', req.id).status(status).send(body)
  }
  function rawClientError(err: Error & { code?: string }, socket: import('node:stream').Duplex): void {
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
    const body = JSON.stringify(clientErrorBody(status))
    const head = [`HTTP/1.1 ${status} ${STATUS_TEXT[status]}`, 'content-type: application/json; charset=utf-8', `content-length: ${Buffer.byteLength(body)}`, `x-request-id: ${randomUUID()}`, 'connection: close']
    for (const [k, v] of Object.entries(securityHeaders)) head.push(`${k}: ${v}`)
    app.log.info({ code: clientErrorBody(status).error.code, status, err: err.code }, 'request rejected by the HTTP parser')
    // A reply already under way on this socket cannot take another status line: drop the connection.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage
    if (socket.writable && !inFlight?.headersSent) socket.end(`${head.join('\r\n')}\r\n\r\n${body}`)
    else socket.destroy()
  }
  app.setErrorHandler((err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) => sendError(err, req, reply))
  app.setNotFoundHandler((req, reply) => {
    const body: ErrorBody = { error: { code: 'E_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0].slice(0, 200)}` } }
    return reply.status(404).send(body)
  })

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'tokenmark verification service',
        version: VERSION,
        description:
          'Tests text for statistical token-level watermarks against keys held by the server, and keeps investigation cases whose running result is an exact p-value and an anytime-valid e-value. Keys never leave the server.',
        license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
      },
      // Relative: the docs page's "Try it out" calls the server that served it, wherever it listens.
      servers: [{ url: '/', description: 'this server' }],
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'API token (tmt_…)' } } },
      security: [{ bearerAuth: [] }],
      tags: [
        { name: 'health', description: 'Liveness, readiness and this document' },
        { name: 'detect', description: 'Watermark detection of single texts' },
        { name: 'cases', description: 'Investigations of a suspect source, sample by sample' },
        { name: 'evidence', description: 'Signed evidence bundles and attribution reports of cases, and the key that verifies them' },
        { name: 'keys', description: 'The tenant’s watermark keys (ids and commitments only)' },
        { name: 'schedules', description: 'The tenant’s key schedules (public descriptions only): cases bound to one score keyed replay' },
        { name: 'admin', description: 'Tenants and API tokens' },
      ],
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { docExpansion: 'list' } })

  for (const plugin of [...routePlugins, ...(opts.plugins ?? [])]) await app.register(plugin)
  await app.ready()
  return app
}

const NOT_SECURITY_HEADERS = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding'])

/** The response headers @fastify/helmet sets with its defaults, captured once (the server bench's protocol echo sets the same). */
export async function helmetHeaders(): Promise<Record<string, string>> {
  const probe = Fastify({ logger: false })
  await probe.register(helmet, { global: true })
  probe.get('/', async () => ({}))
  const res = await probe.inject({ method: 'GET', url: '/' })
  await probe.close()
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(res.headers)) if (!NOT_SECURITY_HEADERS.has(k) && typeof v === 'string') out[k] = v
  return out
}

/** Maps any error to a status and the public error body; 5xx bodies never carry the error's text. */
export function errorReply(err: FastifyError | Error): { status: number; body: ErrorBody } {
  const mk = (status: number, code: string, message: string) => ({ status, body: { error: { code, message } } })
  if (err instanceof ServerError) {
    if (err.code === 'E_UNAVAILABLE' || err.code === 'E_TIMEOUT') return mk(503, err.code, err.message)
    return err.statusCode >= 500 ? mk(err.statusCode, err.code, 'internal error; see the server log') : mk(err.statusCode, err.code, err.message)
  }
  if (err instanceof TokenmarkError) {
    const status = statusForCoreError(err)
    return status >= 500 ? mk(status, 'E_INTERNAL', 'internal error; see the server log') : mk(status, err.code, err.message)
  }
  const store = storeErrorReply(err)
  if (store) return mk(503, store.code, store.message)
  const fe = err as FastifyError
  if (fe.validation) return mk(400, 'E_VALIDATION', fe.message)
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return mk(413, 'E_BODY_TOO_LARGE', 'request body is larger than the server accepts; split it into smaller batches')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return mk(415, 'E_UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return mk(400, 'E_VALIDATION', 'body must not be empty when Content-Type is application/json')
    case 'FST_ERR_BAD_URL':
      return mk(400, 'E_BAD_URL', 'the request path is not valid (malformed %-encoding)')
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return mk(414, 'E_URI_TOO_LONG', 'a path parameter is longer than any id this server issues')
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    if (fe.statusCode === 429) return mk(429, 'E_RATE_LIMITED', 'rate limit exceeded; retry later')
    // JSON syntax errors and similar client faults: fastify's message names the problem.
    return mk(fe.statusCode, fe.statusCode === 400 ? 'E_VALIDATION' : 'E_BAD_REQUEST', fe.message.slice(0, 300))
  }
  return mk(500, 'E_INTERNAL', 'internal error; see the server log')
}
