import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { parseNumber } from '../io.js'
import { SCHEME_IDS } from '../help-facts.js'
import type { KeygenOptions } from '../impl/keygen.js'

/** Options as commander parses them from the declaration below. */
interface KeygenCliOptions {
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

/** The checks that need only the option values, made before core loads. */
function check(o: KeygenCliOptions): KeygenOptions {
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
  return { scheme: o.scheme, params, tokenizer: o.tokenizer, tokenizerFile: o.tokenizerFile, out: o.out, force: o.force, json: o.json }
}

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('make a watermark key (32 random bytes + a scheme configuration) and write it with mode 0600')
    .option('--scheme <id>', `scheme: ${SCHEME_IDS.join(', ')}`, 'kgw')
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
    .action(async (o: KeygenCliOptions) => {
      // a signing key comes from @tokenmark/evidence, a watermark key from @tokenmark/core
      if (o.signing) return (await import('../impl/signing-keygen.js')).signingKeygen(o)
      const options = check(o)
      const { run } = await import('../impl/keygen.js')
      return run(options)
    })
}
