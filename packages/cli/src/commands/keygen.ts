import type { Command } from 'commander'
import { SCHEME_IDS } from '../help-facts.js'

/** Options as commander parses them from the declaration below. */
export interface KeygenOptions {
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
    .action(async (o: KeygenOptions) => {
      const { run } = await import('../impl/keygen.js')
      return run(o)
    })
}
