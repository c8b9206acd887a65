/** What `tokenmark serve` does. Its options are declared in commands/serve.ts; this module loads only when it runs. */
import { startServer } from '@tokenmark/server'
import { CliError } from '../errors.js'
import { LEVELS, type ServeCliOptions } from '../commands/serve.js'

export async function run(o: ServeCliOptions): Promise<void> {
  const port = Number(o.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError('--port must be an integer in 0..65535')
  if (!(LEVELS as readonly string[]).includes(o.logLevel)) throw new CliError(`--log-level must be one of ${LEVELS.join(', ')}`)
  const rl = Number(o.rateLimit ?? '600')
  if (!Number.isInteger(rl) || rl < 0) throw new CliError('--rate-limit must be a non-negative integer')
  let server
  try {
    server = await startServer({
      host: o.host,
      port,
      db: o.db,
      logger: o.logLevel as (typeof LEVELS)[number],
      logStream: process.stderr,
      rateLimit: rl === 0 ? false : { max: rl },
      onAdminToken: (token) =>
        process.stdout.write(`created the first tenant; its admin token (shown once, store it now):\n${token}\n`),
    })
  } catch (e) {
    throw new CliError(`cannot start the server: ${(e as Error).message}`, 1)
  }
  process.stdout.write(`tokenmark: listening on ${server.url}\n`)
}
