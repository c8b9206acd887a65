/** What `tokenmark serve` does. Its options type lives here; commands/serve.ts declares the flags and loads this module only when it runs. */
import { startServer } from '@tokenmark/server'
import { CliError } from '../errors.js'

/** Options as commander parses them from the declaration below. */
export interface ServeCliOptions {
  host: string
  port: string
  db: string
  logLevel: string
  rateLimit?: string
}

/** `serve`'s options once checked. */
export type ServeOptions = Omit<ServeCliOptions, 'port' | 'logLevel' | 'rateLimit'> & { port: number; logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'; rateLimit: number }

export async function run(o: ServeOptions): Promise<void> {
  let server
  try {
    server = await startServer({
      host: o.host,
      port: o.port,
      db: o.db,
      logger: o.logLevel,
      logStream: process.stderr,
      rateLimit: o.rateLimit === 0 ? false : { max: o.rateLimit },
      onAdminToken: (token) =>
        process.stdout.write(`created the first tenant; its admin token (shown once, store it now):\n${token}\n`),
    })
  } catch (e) {
    // The server has closed its database and workers by now. A port that cannot be bound or a master
    // secret that does not fit the database is the operator's input: exit 2, as for any bad input.
    const code = (e as { code?: string }).code
    const input = code === 'EADDRINUSE' || code === 'EACCES' || code === 'E_MASTER_SECRET'
    throw new CliError(`cannot start the server: ${(e as Error).message}`, input ? 2 : 1)
  }
  process.stdout.write(`tokenmark: listening on ${server.url}\n`)
}
