/**
 * `tokenmark verify BUNDLE --public-key FILE [--key FILE] [--json]`: checks an evidence bundle.
 * Exit 0 only when everything asked for verifies: no check fails, and with --key the commitment and
 * the recomputation were both carried out. Exit 1 when verification fails; 2 on bad input.
 */
import { readFileSync } from 'node:fs'
import { EvidenceError, parsePublicKey, verify, type VerifyResult } from '@tokenmark/evidence'
import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { loadKey } from '../io.js'

interface VerifyCliOptions {
  publicKey: string
  key?: string
  json?: boolean
}

function readBytes(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path === '-' ? 0 : path))
  } catch (e) {
    throw new CliError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`)
  }
}

export function loadPublicKey(path: string): Uint8Array {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new CliError(`cannot read public key ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`)
  }
  try {
    return parsePublicKey(text)
  } catch (e) {
    if (e instanceof EvidenceError) throw new CliError(`${path}: ${e.message}`)
    throw e
  }
}

/** True when everything the user asked for was checked and passed. */
export function fullyVerified(r: VerifyResult, withKey: boolean): boolean {
  if (!r.valid) return false
  if (!withKey) return true
  return r.checks.every((c) => (c.id === 'commitment' || c.id === 'recompute' ? c.status === 'pass' : true))
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('verify an evidence bundle: signature, input hashes and, with --key, the commitment and every statistic')
    .argument('<bundle>', 'evidence bundle (.tmev), or - for stdin')
    .requiredOption('--public-key <file>', "the signer's public key file (from keygen --signing), or 32 bytes in hex")
    .option('--key <file>', 'watermark key: check it against the commitment and recompute every statistic from the included texts')
    .option('--json', 'print {valid, checks, ...} as JSON')
    .action((path: string, o: VerifyCliOptions) => {
      const publicKey = loadPublicKey(o.publicKey)
      const watermarkKey = o.key ? loadKey(o.key) : undefined
      const bytes = readBytes(path, 'bundle')
      const r = verify(bytes, { publicKey, watermarkKey })
      const ok = fullyVerified(r, watermarkKey !== undefined)
      if (o.json) {
        process.stdout.write(
          JSON.stringify({
            valid: ok,
            checks: r.checks,
            bundleSha256: r.bundleSha256,
            ...(r.body ? { signer: r.body.signer.id, keyId: r.body.key.keyId, created: r.body.created, detected: r.body.result.detected, log10P: r.body.result.log10P } : {}),
          }) + '\n',
        )
      } else {
        const lines = r.checks.map((c) => `  ${c.status.toUpperCase().padEnd(4)}  ${c.id.padEnd(10)} ${c.message}`)
        const head = ok ? `VALID: ${path}` : r.valid ? `NOT FULLY VERIFIED: ${path} (a check you asked for was skipped)` : `INVALID: ${path}`
        process.stdout.write(`${head}\n${lines.join('\n')}\n  bundle SHA-256 ${r.bundleSha256}\n`)
      }
      if (!ok) process.exitCode = 1
    })
}
