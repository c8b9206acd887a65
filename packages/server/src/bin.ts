#!/usr/bin/env node
/**
 * Stand-alone entry: `node packages/server/dist/bin.js [--host h] [--port p] [--db file]`, the same
 * service as `tokenmark serve`. Settings may also come from TOKENMARK_HOST, TOKENMARK_PORT,
 * TOKENMARK_DB, TOKENMARK_RATE_LIMIT (requests per token per minute; 0 turns it off), TOKENMARK_DETECT_WORKERS
 * (detection threads; 0 = on the event loop; default cores − 1, at least 1), TOKENMARK_INLINE_DETECT_WORK
 * (the inline detection bound, `limits.inlineDetectWork`; 0 sends every detection to the pool) and TOKENMARK_LOG_LEVEL.
 */
import { parseArgs } from 'node:util'
import { startServer } from './serve.js'

const { values } = parseArgs({
  options: { host: { type: 'string' }, port: { type: 'string' }, db: { type: 'string' } },
  strict: true,
})
const env = process.env
const port = Number(values.port ?? env.TOKENMARK_PORT ?? 8787)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write('tokenmark-server: --port must be an integer in 0..65535\n')
  process.exit(2)
}
const workers = env.TOKENMARK_DETECT_WORKERS !== undefined ? Number(env.TOKENMARK_DETECT_WORKERS) : undefined
const rl = env.TOKENMARK_RATE_LIMIT !== undefined ? Number(env.TOKENMARK_RATE_LIMIT) : undefined
const inline = env.TOKENMARK_INLINE_DETECT_WORK !== undefined ? Number(env.TOKENMARK_INLINE_DETECT_WORK) : undefined
try {
  const s = await startServer({
    host: values.host ?? env.TOKENMARK_HOST ?? '127.0.0.1',
    port,
    db: values.db ?? env.TOKENMARK_DB ?? './tokenmark.db',
    logger: (env.TOKENMARK_LOG_LEVEL as 'info' | undefined) ?? 'info',
    ...(workers !== undefined && Number.isInteger(workers) && workers >= 0 ? { detectWorkers: workers } : {}),
    rateLimit: rl === 0 ? false : rl !== undefined && rl > 0 ? { max: rl } : undefined,
    ...(inline !== undefined && Number.isInteger(inline) && inline >= 0 ? { limits: { inlineDetectWork: inline } } : {}),
  })
  // One machine-readable line for supervisors and tests.
  process.stdout.write(JSON.stringify({ listening: s.url }) + '\n')
} catch (e) {
  process.stderr.write(`tokenmark-server: ${(e as Error).message}\n`)
  process.exit(1)
}
