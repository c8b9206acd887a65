#!/usr/bin/env node
/**
 * Runs the suspect API in front of a model file:
 *   node examples/suspect-api/dist/main.js --model student.tmlm [--port 8081] [--host 127.0.0.1] [--name suspect-1]
 */
import { parseArgs } from 'node:util'
import { buildSuspectApi } from './index.js'

const { values: a } = parseArgs({
  options: {
    model: { type: 'string' },
    port: { type: 'string', default: '8081' },
    host: { type: 'string', default: '127.0.0.1' },
    name: { type: 'string' },
    seed: { type: 'string' },
  },
})
if (!a.model) {
  console.error('usage: suspect-api --model FILE.tmlm [--port N] [--host H] [--name NAME] [--seed N]')
  process.exit(2)
}
const app = await buildSuspectApi({ model: a.model, modelName: a.name, seed: a.seed === undefined ? undefined : Number(a.seed) })
const address = await app.listen({ port: Number(a.port), host: a.host })
console.error(`suspect API on ${address} (model ${a.model})`)
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void app.close().then(() => process.exit(0)))
