/**
 * `tokenmark verify BUNDLE --public-key FILE [--key FILE] [--schedule F --schedule-public F] [--json]`: checks an evidence bundle.
 * Exit 0 only when everything asked for verifies: no check fails, and with --key the commitment and
 * the recomputation were both carried out (with --schedule, the schedule analysis too). Exit 1 when verification fails; 2 on bad input.
 */
import type { Command } from 'commander'
import type { VerifyCliOptions } from '../impl/verify.js'

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('verify an evidence bundle: signature, input hashes and, with --key, the commitment and every statistic')
    .argument('<bundle>', 'evidence bundle (.tmev), or - for stdin')
    .requiredOption('--public-key <file>', "the signer's public key file (from keygen --signing), or 32 bytes in hex")
    .option('--key <file>', 'watermark key: check it against the commitment and recompute every statistic from the included texts')
    .option('--schedule <file>', 'key schedule secret file (with --schedule-public): recompute the bundle\'s schedule analysis')
    .option('--schedule-public <file>', 'with --schedule: its public description')
    .option('--json', 'print {valid, checks, ...} as JSON')
    .action(async (path: string, o: VerifyCliOptions) => {
      const { run } = await import('../impl/verify.js')
      return run(path, o)
    })
}
