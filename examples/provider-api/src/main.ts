#!/usr/bin/env node
/**
 * Runs the provider API (`--help` prints the usage below). The watermark key is a secret: by default it lives
 * outside the working tree, in $XDG_CONFIG_HOME/tokenmark/provider.tmkey (~/.config/… without XDG), so it
 * cannot be committed by accident; a missing key is an error unless --new-key asks for one (a provider that
 * silently starts with a fresh key watermarks with a key nobody keeps).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'

const USAGE = `usage: provider-api [--key FILE] [--new-key] [--port 8080] [--host 127.0.0.1]
                    [--accounts accounts.json] [--model teacher.tmlm] [--log responses.jsonl]
                    [--admin-token-env VAR]
  --key FILE           the watermark key (default: $XDG_CONFIG_HOME/tokenmark/provider.tmkey,
                       i.e. ~/.config/tokenmark/provider.tmkey: outside any working tree)
  --new-key            create a KGW key (context width 1) at --key's path first (mode 0600; never overwrites)
  --accounts FILE      JSON object {"<api key>": "<account id>"} (default: one account "demo", API key "sk-demo")
  --model FILE         a lab model file (default: the reference model trained on its teacher part)
  --log FILE           append every served response as a JSON line
  --admin-token-env V  environment variable holding the staff token for /admin/* (default PROVIDER_ADMIN_TOKEN)
`

function fail(message: string): never {
  process.stderr.write(`provider-api: ${message}\n`)
  process.exit(2)
}

let a
try {
  a = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h' },
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      key: { type: 'string' },
      'new-key': { type: 'boolean' },
      accounts: { type: 'string' },
      model: { type: 'string' },
      log: { type: 'string' },
      'admin-token-env': { type: 'string', default: 'PROVIDER_ADMIN_TOKEN' },
    },
  }).values
} catch (e) {
  fail(`${(e as Error).message.split('\n')[0]} (see --help)`)
}
if (a.help) {
  process.stdout.write(USAGE)
  process.exit(0)
}

const keyPath = a.key ?? join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'tokenmark', 'provider.tmkey')
// Loaded after the usage check: core and lab take a moment to import, --help should not wait for them.
const { generateKey, getTokenizer, parseKeyFile } = await import('@tokenmark/core')
const { loadModelFile, trainReferenceModel } = await import('@tokenmark/lab')
const { buildProviderApi } = await import('./index.js')

let key
if (a['new-key']) {
  if (existsSync(keyPath)) fail(`${keyPath} exists; remove --new-key to use it`)
  key = generateKey({ scheme: 'kgw', params: { context: 1 } })
  mkdirSync(dirname(keyPath), { recursive: true, mode: 0o700 })
  writeFileSync(keyPath, key.toKeyFile(), { mode: 0o600, flag: 'wx' })
  console.error(`created watermark key ${key.keyId} → ${keyPath}`)
} else if (!existsSync(keyPath)) {
  fail(`no watermark key at ${keyPath}; pass --key FILE, or --new-key to create one there`)
} else {
  key = parseKeyFile(readFileSync(keyPath, 'utf8'))
}
const tokenizer = getTokenizer('o200k_base')
const accounts: Record<string, string> = a.accounts ? JSON.parse(readFileSync(a.accounts, 'utf8')) : { 'sk-demo': 'demo' }
const model = a.model ? loadModelFile(a.model).model : trainReferenceModel(tokenizer, { part: 'teacher' })
const app = await buildProviderApi({ model, tokenizer, key, accounts, logFile: a.log, adminToken: process.env[a['admin-token-env']!] })
const address = await app.listen({ port: Number(a.port), host: a.host })
console.error(`provider API on ${address} (key ${key.keyId}, ${Object.keys(accounts).length} accounts)`)
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void app.close().then(() => process.exit(0)))
