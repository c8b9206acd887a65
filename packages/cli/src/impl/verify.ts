/** What `tokenmark verify` does. Its options type lives here; commands/verify.ts declares the flags and loads this module only when it runs. */
import { EvidenceError, parsePublicKey, verify, type VerifyResult } from '@tokenmark/evidence'
import { CliError } from '../errors.js'
import { parseFile, readFileBytes, readFileText } from '../io.js'
import { loadKey } from '../load.js'

/** Options as commander parses them from the declaration below. */
export interface VerifyCliOptions {
  publicKey: string
  key?: string
  schedule?: string
  schedulePublic?: string
  json?: boolean
}

export function loadPublicKey(path: string): Uint8Array {
  return parseFile(path, () => parsePublicKey(readFileText(path, 'public key')), EvidenceError)
}

/** True when everything the user asked for was checked and passed. */
export function fullyVerified(r: VerifyResult, withKey: boolean): boolean {
  if (!r.valid) return false
  if (!withKey) return true
  return r.checks.every((c) => (c.id === 'commitment' || c.id === 'recompute' ? c.status === 'pass' : true))
}

export async function run(path: string, o: VerifyCliOptions): Promise<void> {
  const publicKey = loadPublicKey(o.publicKey)
  const watermarkKey = o.key ? loadKey(o.key) : undefined
  const bytes = readFileBytes(path, 'bundle', true)
  if ((o.schedule === undefined) !== (o.schedulePublic === undefined)) throw new CliError('give both --schedule and --schedule-public, or neither')
  const schedule = o.schedule === undefined ? undefined : (await import('./log.js')).loadSchedule(o)
  const r = verify(bytes, { publicKey, watermarkKey, schedule })
  const ok = fullyVerified(r, watermarkKey !== undefined) && (schedule === undefined || r.checks.some((c) => c.id === 'schedule' && c.status === 'pass'))
  if (o.json) {
    process.stdout.write(
      JSON.stringify({
        valid: ok,
        checks: r.checks,
        bundleSha256: r.bundleSha256,
        ...(r.body ? { signer: r.body.signer.id, keyId: r.body.key.keyId, created: r.body.created, detected: r.body.result.detected, log10P: r.body.result.log10P, tokensScored: r.body.statistics.tokensScored } : {}),
      }) + '\n',
    )
  } else {
    const lines = r.checks.map((c) => `  ${c.status.toUpperCase().padEnd(4)}  ${c.id.padEnd(10)} ${c.message}`)
    const head = ok ? `VALID: ${path}` : r.valid ? `NOT FULLY VERIFIED: ${path} (a check you asked for was skipped)` : `INVALID: ${path}`
    process.stdout.write(`${head}\n${lines.join('\n')}\n  bundle SHA-256 ${r.bundleSha256}\n`)
  }
  if (!ok) process.exitCode = 1
}
