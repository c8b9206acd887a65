/** What `tokenmark keygen` does. Its options type lives here; commands/keygen.ts declares the flags and loads this module only when it runs. */
import { generateKey, getScheme } from '@tokenmark/core'
import { CliError } from '../errors.js'
import { writeSecretFile } from '../io.js'
import { resolveTokenizer } from '../load.js'

/** A watermark key's options once checked: the scheme's parameters parsed into `params`. */
export interface KeygenOptions {
  scheme: string
  params: Record<string, unknown>
  tokenizer?: string
  tokenizerFile?: string
  out: string
  force?: boolean
  json?: boolean
}

export function run(o: KeygenOptions): void {
  let key
  getScheme(o.scheme)
  const tokenizer = resolveTokenizer(o.tokenizer, o.tokenizerFile)?.name ?? 'o200k_base'
  key = generateKey({ scheme: o.scheme, params: o.params, tokenizer })
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
}
