/** What `tokenmark keygen` does. Its options are declared in commands/keygen.ts; this module loads only when it runs. */
import { generateKey, getScheme, TokenmarkError } from '@tokenmark/core'
import { CliError } from '../errors.js'
import { parseNumber, writeSecretFile } from '../io.js'
import { resolveTokenizer } from '../load.js'
import type { KeygenOptions } from '../commands/keygen.js'

export async function run(o: KeygenOptions): Promise<void> {
  // the signing key comes from @tokenmark/evidence, which a watermark key does not need
  if (o.signing) return (await import('./signing-keygen.js')).signingKeygen(o)
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
}
