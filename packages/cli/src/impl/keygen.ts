import { generateKey, getScheme, schemeIds, TokenmarkError } from '@tokenmark/core'
import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { parseNumber, resolveTokenizer, writeSecretFile } from '../io.js'
import { signingKeygen } from './signing-keygen.js'

interface KeygenOptions {
  scheme: string
  gamma?: string
  delta?: string
  seeding?: string
  context?: string
  layers?: string
  topK?: string
  tokenizer?: string
  tokenizerFile?: string
  out?: string
  force?: boolean
  json?: boolean
  signing?: boolean
}

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('make a watermark key (32 random bytes + a scheme configuration) and write it with mode 0600')
    .option('--scheme <id>', `scheme: ${schemeIds().join(', ')}`, 'kgw')
    .option('--gamma <g>', 'green-list fraction (kgw, unigram)')
    .option('--delta <d>', 'green-list bias in nats (kgw, unigram)')
    .option('--seeding <rule>', 'lefthash or selfhash (kgw, gumbel, synthid)')
    .option('--context <h>', 'context width h')
    .option('--layers <m>', 'tournament layers (synthid)')
    .option('--top-k <k>', 'tournament candidates (synthid)')
    .option('--tokenizer <name>', 'tokenizer the watermark is embedded with (default o200k_base)')
    .option('--tokenizer-file <file>', 'a Hugging Face tokenizer.json the watermark is embedded with')
    .option('--out <file>', 'key file to write (required)')
    .option('--force', 'overwrite an existing key file')
    .option('--json', 'print {keyId, commitment, scheme, params, file} as JSON')
    .option('--signing', 'make an Ed25519 signing key for evidence bundles instead (secret to --out, public key to --out.pub)')
    .action((o: KeygenOptions) => {
      if (o.signing) return signingKeygen(o)
      if (!o.out) throw new CliError('keygen needs --out FILE (the key is a secret and is never printed)')
      const params: Record<string, unknown> = {}
      const num = (flag: string, name: string, v: string | undefined) => {
        if (v !== undefined) params[name] = parseNumber(flag, v)
      }
      num('--gamma', 'gamma', o.gamma)
      num('--delta', 'delta', o.delta)
      num('--context', 'context', o.context)
      num('--layers', 'layers', o.layers)
      num('--top-k', 'topK', o.topK)
      if (o.seeding !== undefined) params.seeding = o.seeding
      let key
      try {
        getScheme(o.scheme)
        const tokenizer = resolveTokenizer(o.tokenizer, o.tokenizerFile)?.name ?? 'o200k_base'
        key = generateKey({ scheme: o.scheme, params, tokenizer })
      } catch (e) {
        if (e instanceof TokenmarkError) throw new CliError(e.message)
        throw e
      }
      writeSecretFile(o.out, key.toKeyFile(), o.force)
      const info = key.publicInfo()
      if (o.json) {
        process.stdout.write(JSON.stringify({ keyId: info.keyId, commitment: info.commitment, scheme: info.scheme, params: info.params, tokenizer: info.tokenizer, file: o.out }) + '\n')
      } else {
        process.stdout.write(
          `wrote ${o.out} (mode 0600)\n  key id     ${info.keyId}\n  scheme     ${info.scheme} ${JSON.stringify(info.params)}\n  tokenizer  ${info.tokenizer}\n  commitment ${info.commitment}\n` +
            `Publish the commitment to prove later that this key existed; keep the file secret.\n`,
        )
      }
    })
}
