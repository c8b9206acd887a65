#!/usr/bin/env node
/**
 * Runs the provider API:
 *   node examples/provider-api/dist/main.js [--port 8080] [--host 127.0.0.1] [--key key.json]
 *     [--accounts accounts.json] [--model teacher.tmlm] [--log responses.jsonl] [--admin-token-env VAR]
 * --accounts is a JSON object { "<api key>": "<account id>" }; without it one account "demo" with the
 * API key "sk-demo" is created. Without --key a KGW key (context width 1) is generated and written to
 * ./provider-key.json. Without --model the lab's reference model is trained on its teacher part.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { generateKey, getTokenizer, parseKeyFile } from '@tokenmark/core'
import { loadModelFile, trainReferenceModel } from '@tokenmark/lab'
import { buildProviderApi } from './index.js'

const { values: a } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    key: { type: 'string' },
    accounts: { type: 'string' },
    model: { type: 'string' },
    log: { type: 'string' },
    'admin-token-env': { type: 'string', default: 'PROVIDER_ADMIN_TOKEN' },
  },
})

const tokenizer = getTokenizer('o200k_base')
let key
if (a.key && existsSync(a.key)) key = parseKeyFile(readFileSync(a.key, 'utf8'))
else {
  key = generateKey({ scheme: 'kgw', params: { context: 1 } })
  const path = a.key ?? 'provider-key.json'
  writeFileSync(path, key.toKeyFile(), { mode: 0o600 })
  console.error(`generated watermark key ${key.keyId} → ${path}`)
}
const accounts: Record<string, string> = a.accounts ? JSON.parse(readFileSync(a.accounts, 'utf8')) : { 'sk-demo': 'demo' }
const model = a.model ? loadModelFile(a.model).model : trainReferenceModel(tokenizer, { part: 'teacher' })
const app = await buildProviderApi({ model, tokenizer, key, accounts, logFile: a.log, adminToken: process.env[a['admin-token-env']!] })
const address = await app.listen({ port: Number(a.port), host: a.host })
console.error(`provider API on ${address} (key ${key.keyId}, ${Object.keys(accounts).length} accounts)`)
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void app.close().then(() => process.exit(0)))
