import type { Command } from 'commander'
import { CliError } from '../errors.js'
import type { ServeCliOptions, ServeOptions } from '../impl/serve.js'

/** Log levels `--log-level` accepts. */
export const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const

/** The checks that need only the option values, made before the server (fastify, SQLite) loads. */
function check(o: ServeCliOptions): ServeOptions {
  const port = Number(o.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError('--port must be an integer in 0..65535')
  if (!(LEVELS as readonly string[]).includes(o.logLevel)) throw new CliError(`--log-level must be one of ${LEVELS.join(', ')}`)
  const rl = Number(o.rateLimit ?? '600')
  if (!Number.isInteger(rl) || rl < 0) throw new CliError('--rate-limit must be a non-negative integer')
  return { ...o, port, logLevel: o.logLevel as (typeof LEVELS)[number], rateLimit: rl }
}

/**
 * `tokenmark serve`: the verification service on an embedded SQLite database. First start on an empty
 * database creates a tenant and an admin token, printed once (or TOKENMARK_ADMIN_TOKEN when set).
 * Logs (JSON) go to stderr; stdout carries the admin token and the listening address. SIGTERM/SIGINT
 * stop accepting, finish in-flight requests and close the database.
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the verification service (fastify + SQLite); keys never leave it')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', '8787')
    .option('--db <file>', 'SQLite database file (created when missing; the master secret goes to <file>.master unless TOKENMARK_MASTER_SECRET(_FILE) is set), or a postgres://… URL (replicas may share it; needs TOKENMARK_MASTER_SECRET(_FILE))', './tokenmark.db')
    .option('--log-level <level>', `log level: ${LEVELS.join(', ')}`, 'info')
    .option('--rate-limit <n>', 'requests per API token per minute (0 = off)', '600')
    .action(async (o: ServeCliOptions) => {
      const options = check(o)
      // @tokenmark/server is an optional peer of the CLI's package (it compiles better-sqlite3 on install),
      // so an install without it says what to add instead of failing with a module-resolution trace.
      const { run } = await import('../impl/serve.js').catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ERR_MODULE_NOT_FOUND' && /@tokenmark\/server/.test(e.message)) {
          throw new CliError('serve needs the @tokenmark/server package next to the CLI: npm install its tarball (tokenmark-server-<version>.tgz, from npm run pack)')
        }
        throw e
      })
      return run(options)
    })
}
