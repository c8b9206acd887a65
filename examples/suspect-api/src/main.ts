#!/usr/bin/env node
/**
 * Runs the suspect API in front of a model file (`--help` prints the usage below). It holds no secret.
 */
import { parseArgs } from 'node:util'

const USAGE = `usage: suspect-api --model FILE.tmlm [--port 8081] [--host 127.0.0.1] [--name NAME] [--seed N]
  --model FILE  a lab model file (e.g. a student from \`tokenmark lab\` or the distillation demo)
  --name NAME   the model name it reports (default: suspect-1)
  --seed N      sampling seed (default: random)
`

function fail(message: string): never {
  process.stderr.write(`suspect-api: ${message}\n`)
  process.exit(2)
}

let a
try {
  a = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h' },
      model: { type: 'string' },
      port: { type: 'string', default: '8081' },
      host: { type: 'string', default: '127.0.0.1' },
      name: { type: 'string' },
      seed: { type: 'string' },
    },
  }).values
} catch (e) {
  fail(`${(e as Error).message.split('\n')[0]} (see --help)`)
}
if (a.help) {
  process.stdout.write(USAGE)
  process.exit(0)
}
if (!a.model) fail('--model FILE is required (see --help)')
const { buildSuspectApi } = await import('./index.js')
const app = await buildSuspectApi({ model: a.model, modelName: a.name, seed: a.seed === undefined ? undefined : Number(a.seed) })
const address = await app.listen({ port: Number(a.port), host: a.host })
console.error(`suspect API on ${address} (model ${a.model})`)
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void app.close().then(() => process.exit(0)))
