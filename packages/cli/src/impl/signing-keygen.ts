/**
 * `tokenmark keygen --signing --out FILE`: an Ed25519 key that signs evidence bundles. It is separate
 * from every watermark key. The secret goes to FILE with mode 0600 and is never printed; the public
 * key goes to FILE.pub, for whoever verifies the bundles.
 */
import { writeFileSync } from 'node:fs'
import { generateSigningKey } from '@tokenmark/evidence'
import { CliError } from '../errors.js'
import { writeSecretFile } from '../io.js'

export function signingKeygen(o: { out?: string; force?: boolean; json?: boolean }): void {
  if (!o.out) throw new CliError('keygen --signing needs --out FILE (the key is a secret and is never printed)')
  const key = generateSigningKey()
  const pubPath = `${o.out}.pub`
  writeSecretFile(o.out, key.toKeyFile(), o.force)
  try {
    writeFileSync(pubPath, key.toPublicKeyFile(), { mode: 0o644, flag: o.force ? 'w' : 'wx' })
  } catch (e) {
    throw new CliError(`cannot write ${pubPath}: ${(e as NodeJS.ErrnoException).code ?? 'error'} (the secret key was written to ${o.out})`)
  }
  if (o.json) {
    process.stdout.write(JSON.stringify({ signerId: key.signerId, publicKey: key.toJSON().publicKey, file: o.out, publicKeyFile: pubPath }) + '\n')
  } else {
    process.stdout.write(
      `wrote ${o.out} (mode 0600) and ${pubPath}\n  signer id   ${key.signerId}\n  algorithm   Ed25519\n` +
        `Give ${pubPath} to whoever verifies your evidence bundles; keep ${o.out} secret.\n`,
    )
  }
}
