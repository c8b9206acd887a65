/**
 * Running the service: bootstrap of an empty database, listening, and graceful shutdown on SIGTERM /
 * SIGINT (stop accepting, finish in-flight requests, close the database). Used by `tokenmark serve`
 * and by the package's own bin.
 */
import { createServer as createNetServer } from 'node:net'
import { availableParallelism } from 'node:os'
import type { FastifyInstance } from 'fastify'
import { SCOPES } from './auth.js'
import { buildServer, type BuildServerOptions } from './app.js'

export interface BootstrapResult {
  tenantId: string
  /** Set only when the token was generated now: show it once, then forget it. */
  adminToken?: string
  adopted: boolean
}

/**
 * On an empty database: creates the first tenant and its administrator token (every scope, including
 * tenants:admin). The token is TOKENMARK_ADMIN_TOKEN when set, otherwise generated and returned once.
 * Returns undefined when the database already has tenants.
 */
export function bootstrap(app: FastifyInstance, env: NodeJS.ProcessEnv = process.env): BootstrapResult | undefined {
  if (app.store.countTenants() > 0) return undefined
  return app.store.transaction(() => {
    // Again inside the transaction: replicas on one PostgreSQL may start together.
    if (app.store.countTenants() > 0) return undefined
    const tenant = app.access.createTenant('default')
    const preset = env.TOKENMARK_ADMIN_TOKEN
    if (preset) {
      app.access.adoptToken(tenant.id, 'bootstrap admin', preset, SCOPES)
      return { tenantId: tenant.id, adopted: true }
    }
    const t = app.access.createToken(tenant.id, 'bootstrap admin', SCOPES)
    return { tenantId: tenant.id, adminToken: t.token, adopted: false }
  })
}

export interface StartOptions extends BuildServerOptions {
  host?: string
  port?: number
  /** Install SIGTERM/SIGINT handlers that close gracefully and exit (default true). */
  handleSignals?: boolean
  /** Called once with a generated admin token (default: printed to stderr). Never logged. */
  onAdminToken?: (token: string) => void
}

export interface RunningServer {
  app: FastifyInstance
  /** http://host:port */
  url: string
  port: number
  bootstrap?: BootstrapResult
  /** Graceful stop: no new connections, in-flight requests answered, database closed. */
  close(): Promise<void>
}

/**
 * Fails with EADDRINUSE / EACCES when `port` cannot be bound, before anything else happens: a refused
 * start must not create a database or a master secret file (issue 12). Port 0 always binds.
 */
export async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return
  await new Promise<void>((resolve, reject) => {
    const probe = createNetServer()
    probe.once('error', (e: NodeJS.ErrnoException) => reject(Object.assign(new Error(portMessage(e, host, port)), { code: e.code })))
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()))
  })
}

function portMessage(e: NodeJS.ErrnoException, host: string, port: number): string {
  if (e.code === 'EADDRINUSE') return `${host}:${port} is already in use; stop the other server or choose another --port`
  if (e.code === 'EACCES') return `no permission to listen on ${host}:${port}; choose a port above 1023`
  return `cannot listen on ${host}:${port}: ${e.message}`
}

export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const env = opts.env ?? process.env
  await checkPortFree(opts.host ?? '127.0.0.1', opts.port ?? 8787)
  const app = await buildServer({ logger: 'info', detectWorkers: Math.max(1, availableParallelism() - 1), ...opts })
  let boot: BootstrapResult | undefined
  try {
    boot = bootstrap(app, env)
  } catch (e) {
    await app.close()
    throw e
  }
  if (boot?.adminToken) {
    const show = opts.onAdminToken ?? ((t: string) => process.stderr.write(`tokenmark: created tenant ${boot?.tenantId} and its admin token (shown once, store it now):\n${t}\n`))
    show(boot.adminToken)
    boot = { ...boot, adminToken: undefined }
  } else if (boot?.adopted) {
    app.log.info({ tenantId: boot.tenantId }, 'created the first tenant with the admin token from TOKENMARK_ADMIN_TOKEN')
  }
  try {
    await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8787 })
  } catch (e) {
    // Port in use, no permission: close the database and the workers, so the caller can exit (issue 12).
    await app.close()
    throw e
  }
  const addr = app.server.address()
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 8787)
  const host = opts.host ?? '127.0.0.1'
  let closing: Promise<void> | undefined
  const close = () => (closing ??= app.close().then(() => undefined))
  if (opts.handleSignals !== false) {
    const onSignal = (sig: NodeJS.Signals) => {
      app.log.info({ signal: sig }, 'shutting down: finishing in-flight requests')
      close().then(
        () => process.exit(0),
        (err: unknown) => {
          app.log.error({ err }, 'shutdown failed')
          process.exit(1)
        },
      )
    }
    process.once('SIGTERM', onSignal)
    process.once('SIGINT', onSignal)
  }
  return { app, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port, bootstrap: boot, close }
}
