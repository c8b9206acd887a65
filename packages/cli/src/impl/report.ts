/** What `tokenmark report` does; commands/report.ts declares its flags and loads this module only when it runs. */
import { writeFileSync } from 'node:fs'
import { basename, dirname, extname, join } from 'node:path'
import {
  createBundle,
  EvidenceError,
  openBundle,
  parseSigningKeyFile,
  renderReport,
  REPORT_FORMATS,
  type ReportFormat,
  scheduleRecord,
  type ScheduleRecord,
  type SigningKey,
} from '@tokenmark/evidence'
import type { KeySchedule } from '@tokenmark/core'
import { describeInput, readCorpus, type Corpus, type SplitMode } from '../corpus.js'
import { CliError } from '../errors.js'
import { formatP, oneIn } from '../format.js'
import { parseFile, parseNumber, readFileBytes, readFileText } from '../io.js'
import { loadFilter, loadKey } from '../load.js'
import { nothingScored } from './scan.js'

/** Options as commander parses them (commands/report.ts). */
export interface ReportCliOptions {
  key: string
  signingKey: string
  prompts?: string
  filter?: string
  out: string
  bundle?: string
  format?: string
  split: string
  title?: string
  description?: string
  notes?: string
  inputs: boolean
  dedup: boolean
  normalize: boolean
  force?: boolean
  alpha: string
  schedule?: string
  schedulePublic?: string
  log?: string
  logFilter?: boolean
  everyServedKey?: boolean
  logSignature?: string
  logPublicKey?: string
  parts?: string[]
}

function loadSigningKey(path: string): SigningKey {
  return parseFile(path, () => parseSigningKeyFile(readFileText(path, 'signing key')), EvidenceError)
}

function formatOf(o: ReportCliOptions): ReportFormat {
  const f = o.format ?? (/\.md$/i.test(o.out) ? 'md' : /\.json$/i.test(o.out) ? 'json' : 'html')
  if (!(REPORT_FORMATS as readonly string[]).includes(f)) throw new CliError(`--format must be one of ${REPORT_FORMATS.join(', ')}, got "${f.slice(0, 20)}"`)
  return f as ReportFormat
}

function write(path: string, data: string | Uint8Array): void {
  try {
    writeFileSync(path, data)
  } catch (e) {
    throw new CliError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`)
  }
}

/** The bundle's path: --bundle, else the report's name with .tmev beside it (r.html → r.tmev). */
export function bundlePathFor(out: string, bundle: string | undefined): string {
  if (bundle !== undefined) return bundle
  const base = basename(out, extname(out)) || basename(out)
  return join(dirname(out), `${base}.tmev`)
}

/**
 * `--schedule … [--log …]`: the schedule analysis of the same texts (evidence's scheduleRecord), with the
 * accounts behind each flagged cohort and the log's integrity (head, and a signed head when given).
 */
async function scheduleSection(corpus: Corpus, o: ReportCliOptions, alpha: number): Promise<{ schedule: KeySchedule; record: ScheduleRecord }> {
  if (o.schedulePublic === undefined) throw new CliError('--schedule needs --schedule-public (the schedule\'s public description)')
  if (o.logSignature !== undefined && o.log === undefined) throw new CliError('--log-signature goes with --log')
  if (!o.dedup) throw new CliError('--schedule scores with de-duplication per key; drop --no-dedup')
  if (o.logFilter === true && o.log === undefined) throw new CliError('--log-filter builds its filters from the serving log: give --log')
  const { loadScheduleAndLog, replayFilters, scheduleTexts } = await import('./scan-schedule.js')
  const { checkSignedHead } = await import('./log.js')
  const { schedule, log, verification } = loadScheduleAndLog({ schedule: o.schedule as string, schedulePublic: o.schedulePublic, log: o.log })
  const texts = scheduleTexts(corpus, schedule, log?.records)
  const logInput =
    log && verification
      ? {
          records: log.records,
          head: verification.head.head,
          withText: verification.withText,
          ...(o.logSignature !== undefined ? { signature: checkSignedHead(o.logSignature, o.logPublicKey, log, true) } : {}),
        }
      : undefined
  try {
    const filters = o.logFilter === true && log ? replayFilters(corpus, schedule, log.records) : undefined
    return { schedule, record: scheduleRecord(schedule, texts, { alpha, dedup: o.dedup, normalize: o.normalize, prompts: corpus.prompts, filters, everyServedKey: o.everyServedKey }, logInput) }
  } catch (e) {
    if (e instanceof EvidenceError) throw new CliError(e.message)
    throw e
  }
}

export async function run(corpusPaths: string[], o: ReportCliOptions): Promise<void> {
  const format = formatOf(o)
  const alpha = parseNumber('--alpha', o.alpha)
  if (!(alpha > 0 && alpha < 1)) throw new CliError('--alpha must be in (0, 1)')
  if (!['none', 'paragraphs'].includes(o.split)) throw new CliError('--split must be none or paragraphs')
  if (!o.dedup && !o.force) {
    throw new CliError('--no-dedup is not a valid test on real text (repeated tuples inflate the evidence); a report refuses it unless --force is given, and then records why it is invalid')
  }
  const bundlePath = bundlePathFor(o.out, o.bundle)
  if (bundlePath === o.out) throw new CliError('--bundle and --out name the same file')
  const key = loadKey(o.key)
  const signer = loadSigningKey(o.signingKey)
  const filter = o.filter ? loadFilter(o.filter) : undefined
  const corpus = readCorpus(corpusPaths, { split: o.split as SplitMode, prompts: o.prompts })
  const sched = o.schedule === undefined ? undefined : await scheduleSection(corpus, o, alpha)
  // Parts are checked whole (their tuples' SHA-256, one scan) as `merge` checks them; the bundle keeps their heads.
  const parts = o.parts?.map((p) => readFileBytes(p, 'shard part'))
  if (parts) (await import('./merge.js')).mergeParts(key, parts)
  process.stderr.write(`tokenmark: ${describeInput(corpus.input)}; scoring…\n`)
  const bundle = createBundle(key, corpus.items, signer, {
    case: { title: o.title, description: o.description },
    notes: o.notes,
    includeInputs: o.inputs,
    dedup: o.dedup,
    normalize: o.normalize,
    alpha,
    prompts: corpus.prompts,
    filter,
    filterDescription: o.filter ? `emission filter ${basename(o.filter)}` : undefined,
    schedule: sched?.record,
    shards: parts,
  })
  const { result, statistics } = openBundle(bundle).body
  if (statistics.tokensScored === 0) throw nothingScored(statistics.tokensSeen, 'the corpus')
  // The bundle first: a report never cites a bundle that was not written.
  write(bundlePath, bundle)
  const out = renderReport(bundle, {
    format,
    publicKey: signer.publicKey,
    // With the watermark key at hand the report's verification checks the commitment and recomputes.
    watermarkKey: key,
    schedule: sched?.schedule,
    bundleName: bundlePath,
    sources: { corpus: corpusPaths, prompts: o.prompts, filter: o.filter, split: o.split === 'none' ? undefined : o.split },
  })
  write(o.out, out)
  const verdict = !result.valid ? 'NOT A VALID TEST (de-duplication off)' : result.detected ? 'WATERMARK DETECTED' : 'no significant evidence'
  const sr = sched?.record.result
  process.stdout.write(
    `${describeInput(corpus.input)}\n` +
      `${verdict}: p = ${formatP(result.log10P)} (${oneIn(result.log10P)}), ${statistics.tokensScored} tokens scored in ${corpus.items.length} texts\n` +
      result.warnings.map((w) => `  warning: ${w}\n`).join('') +
      (sr ? `  schedule ${sched?.record.scheduleId}: p = ${formatP(sr.log10P)} (${sr.globalRule}); cohorts flagged (Holm, alpha ${sr.alpha}): ${sr.cohorts.filter((c) => c.flagged).map((c) => c.label).join(', ') || 'none'}\n` : '') +
      (parts ? `  sharded scan: ${parts.length} parts merged, Merkle root ${openBundle(bundle).body.shards?.merkleRoot}\n` : '') +
      `  report ${o.out} (${format})\n  bundle ${bundlePath} (signed by ${signer.signerId})\n`,
  )
}
