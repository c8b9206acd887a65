/**
 * `tokenmark report --key FILE --signing-key FILE [--prompts FILE] [--filter FILE] --out report.html
 *  [--bundle out.tmev] [--format html|md|json] [--schedule F --schedule-public F [--log LOG [--log-signature HEAD.json]]] CORPUS...`: analyses a corpus from a suspect source,
 * seals a signed evidence bundle and renders the attribution report from it.
 * A corpus is read by the CLI's one corpus reader (corpus.ts). The bundle is always written: --bundle, or
 * the report's name with .tmev beside it.
 */
import type { Command } from 'commander'
import type { ReportCliOptions } from '../impl/report.js'

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('analyse a corpus, seal a signed evidence bundle, and write the attribution report')
    .argument('<corpus...>', 'corpus files: JSON lines with a "text" field (optional "id", "prompt"), or plain text files (one text each, or --split paragraphs)')
    .requiredOption('--key <file>', 'watermark key file')
    .requiredOption('--signing-key <file>', 'Ed25519 signing key (tokenmark keygen --signing)')
    .option('--prompts <file>', 'prompts given to the suspect model (JSON lines {id, prompt}): a prompt whose id names a text is its prompt; all are excluded')
    .option('--filter <file>', "the provider's emission filter: only tokens whose context it served are scored")
    .requiredOption('--out <file>', 'report file to write')
    .option('--bundle <file>', 'where to write the signed evidence bundle (default: beside the report, same name, .tmev)')
    .option('--split <mode>', 'none (a plain text file is one text) or paragraphs', 'none')
    .option('--format <f>', 'html, md or json (default: from --out, else html)')
    .option('--title <text>', 'case title shown at the top of the report')
    .option('--description <text>', 'case description')
    .option('--notes <text>', "analyst's free-text notes, recorded and signed")
    .option('--no-inputs', 'leave the texts out of the bundle (only their SHA-256); the analysis then cannot be rerun from it')
    .option('--no-dedup', 'score repeated (context, token) pairs every time: not a valid test; refused unless --force')
    .option('--force', 'make the report even though the test is not valid (--no-dedup); the bundle records why')
    .option('--no-normalize', 'skip Unicode normalisation')
    .option('--alpha <a>', 'significance level of the verdict', '1e-6')
    .option('--schedule <file>', 'key schedule secret file: add the attribution section (texts scored against the schedule, per-cohort Holm tests); the bundle carries it')
    .option('--schedule-public <file>', 'with --schedule: its public description')
    .option('--log <file>', 'with --schedule: the serving log (a text\'s "seq" names its record; the accounts behind flagged cohorts; the log\'s head)')
    .option('--every-served-key', 'with --schedule: score every text under every key that served one of the replayed prompts (as scan --every-served-key); recorded in the bundle')
    .option('--log-filter', 'with --log: each key scores only contexts it served in the records the texts replay (as scan --log-filter); the filters are sealed in the bundle')
    .option('--log-signature <file>', 'with --log: the provider\'s signed log head, checked and recorded')
    .option('--log-public-key <file>', 'with --log-signature: the public key it must be signed with')
    .option('--parts <files...>', 'the .tmacc parts of a sharded scan of the same corpus (scan --shard i/S --out, or scan --shards S --parts-out): the bundle records their hashes and Merkle root after checking they add up to this analysis')
    .action(async (corpusPaths: string[], o: ReportCliOptions) => {
      const { run } = await import('../impl/report.js')
      return run(corpusPaths, o)
    })
}
