/**
 * `tokenmark scan --schedule`: replay answers scored against a key schedule (issue 13 §3, docs/spec.md#replay).
 * Each answer is scored under the key that served its prompt — named by the line's `keyId`, or by its `seq`
 * in `--log` — with core's ScheduleScorer: one pooled exact test, and one test per cohort and per epoch
 * with Holm's correction over the whole family. Answers without a serving key (held-out probing) are scored
 * under every key of the ring, the global test then Bonferroni-corrected over the cohorts.
 */
import { getTokenizer, logKeyFilters, verifyLog, type CohortKey, type EmissionFilter, type KeySchedule, type LogRecord, type LogVerification, type ParsedLog, type ScheduleResult } from '@tokenmark/core'
import { analyzeSchedule, EvidenceError, type ScheduleText } from '@tokenmark/evidence'
import { describeInput, readCorpus, type Corpus, type InputDescription } from '../corpus.js'
import { CliError } from '../errors.js'
import { formatP, oneIn } from '../format.js'
import { loadLog, loadSchedule } from './log.js'
import { nothingScored, type ScanOptions } from './scan.js'

export interface ScheduleScanOptions extends Omit<ScanOptions, 'key'> {
  schedule: string
  schedulePublic: string
  log?: string
  logFilter?: boolean
  everyServedKey?: boolean
}

/** The serving key of each item (undefined: none named), checked against the log when both name it. */
function servingKeys(corpus: Corpus, schedule: KeySchedule, records: readonly LogRecord[] | undefined): (CohortKey | undefined)[] {
  return corpus.items.map((it) => {
    const rec = it.served?.seq !== undefined && records ? records[it.served.seq] : undefined
    if (it.served?.seq !== undefined && records && rec === undefined) throw new CliError(`${it.id}: seq ${it.served.seq} is not in the log (${records.length} records)`)
    if (rec && it.served?.keyId !== undefined && rec.keyId !== it.served.keyId) throw new CliError(`${it.id}: keyId ${it.served.keyId} but log record ${rec.seq} was served under ${rec.keyId}`)
    if (rec && it.prompt === undefined && rec.prompt !== undefined) it.prompt = rec.prompt // the log keeps the prompt it served
    const keyId = it.served?.keyId ?? rec?.keyId
    if (keyId === undefined) return undefined
    const ck = schedule.locate(keyId)
    if (!ck) throw new CliError(`${it.id}: key ${keyId.slice(0, 40)} is not a key of schedule ${schedule.scheduleId}`)
    return ck
  })
}

export function scheduleJson(r: ScheduleResult, detected: boolean, input: InputDescription): Record<string, unknown> {
  return { ...r, detected, input }
}

export function scheduleSummary(r: ScheduleResult, detected: boolean, schedule: KeySchedule): string {
  const rule = r.globalRule === 'pooled' ? 'keyed replay: one exact test pooled over the serving keys' : `no serving keys: best cohort, Bonferroni over ${r.cohortFamily} cohorts`
  const lines = [
    `${detected ? 'WATERMARK DETECTED' : 'no watermark detected'} against schedule ${r.scheduleId}: p = ${formatP(r.log10P)} (${oneIn(r.log10P)}; log10 p = ${r.log10P.toFixed(2)}; ${rule})`,
    `  e-value ${formatP(r.log10E)}; tokens: ${r.tokensSeen} seen, ${r.tokensScored} scored; ${r.keysUsed} of ${schedule.ringSize} keys scored tokens`,
    `  cohorts: Holm over ${r.cohortFamily} cohorts at family-wise alpha = ${r.alpha}; flagged: ${r.cohortsFlagged.length ? r.cohortsFlagged.map((c) => schedule.cohortLabel(c)).join(', ') : 'none'}`,
    '  cohort              tokens   log10 p  Holm log10 p  flagged',
  ]
  for (const c of r.cohorts) {
    if (c.tokensScored === 0) continue
    lines.push(`  ${c.label.padEnd(18)} ${String(c.tokensScored).padStart(7)} ${c.log10P.toFixed(2).padStart(9)} ${c.adjustedLog10P.toFixed(2).padStart(13)}  ${c.flagged ? 'YES' : 'no'}`)
  }
  lines.push(`  epochs: Holm over ${r.epochs.length} epochs; flagged: ${r.epochsFlagged.length ? r.epochsFlagged.join(', ') : 'none'}`, '  epoch   tokens   log10 p  Holm log10 p  flagged')
  for (const e of r.epochs) {
    if (e.tokensScored === 0) continue
    lines.push(`  ${String(e.epoch).padStart(5)} ${String(e.tokensScored).padStart(8)} ${e.log10P.toFixed(2).padStart(9)} ${e.adjustedLog10P.toFixed(2).padStart(13)}  ${e.flagged ? 'YES' : 'no'}`)
  }
  return lines.join('\n') + '\n'
}

/** The corpus as texts for evidence's analyzeSchedule: each with its prompt and serving key id when known. */
export function scheduleTexts(corpus: Corpus, schedule: KeySchedule, records: readonly LogRecord[] | undefined): ScheduleText[] {
  const keys = servingKeys(corpus, schedule, records)
  return corpus.items.map((it, i) => ({ text: it.text, ...(it.prompt !== undefined ? { prompt: it.prompt } : {}), ...(keys[i] ? { keyId: keys[i]?.key.keyId } : {}) }))
}

/**
 * Per-key emission filters from the serving log's texts (core's logKeyFilters): from the records the corpus
 * replays (its lines' `seq`) when every line names one — the records under investigation, as the lab's
 * attribution simulation scores them — else from every record that keeps its texts.
 */
export function replayFilters(corpus: Corpus, schedule: KeySchedule, records: readonly LogRecord[]): { records: number; byKey: Map<string, EmissionFilter> } {
  const seqs = corpus.items.map((it) => it.served?.seq)
  const chosen = seqs.every((q) => q !== undefined) ? [...new Set(seqs as number[])].sort((a, b) => a - b).map((q) => records[q]).filter((r) => r !== undefined) : records
  const withText = chosen.filter((r) => r.prompt !== undefined && r.response !== undefined)
  if (withText.length === 0) throw new CliError('--log-filter: none of the log records the texts replay keeps its texts (the provider logs them with its text option)')
  return { records: withText.length, byKey: logKeyFilters(schedule, withText, getTokenizer(schedule.params.config.tokenizer)) }
}

/** Scores a corpus against a schedule (evidence's analyzeSchedule, which `report --schedule` seals and `verify` reruns). */
export function scoreAgainstSchedule(
  corpus: Corpus,
  schedule: KeySchedule,
  records: readonly LogRecord[] | undefined,
  o: { alpha: number; dedup: boolean; normalize: boolean; logFilter?: boolean; everyServedKey?: boolean },
): ScheduleResult {
  const texts = scheduleTexts(corpus, schedule, records)
  const filters = o.logFilter === true && records ? replayFilters(corpus, schedule, records).byKey : undefined
  try {
    return analyzeSchedule(schedule, texts, { alpha: o.alpha, dedup: o.dedup, normalize: o.normalize, prompts: corpus.prompts, filters, everyServedKey: o.everyServedKey })
  } catch (e) {
    if (e instanceof EvidenceError) throw new CliError(e.message)
    throw e
  }
}

/** The schedule, and the serving log (which must verify against it) when given. */
export function loadScheduleAndLog(o: { schedule: string; schedulePublic: string; log?: string }): { schedule: KeySchedule; records?: LogRecord[]; log?: ParsedLog; verification?: LogVerification } {
  const schedule = loadSchedule(o) as KeySchedule
  if (o.log === undefined) return { schedule }
  const log = loadLog(o.log)
  const v = verifyLog(log, schedule)
  if (!v.ok) throw new CliError(`${o.log}: the log does not verify against the schedule (line ${v.error?.line}: ${v.error?.reason}); run tokenmark log verify`)
  return { schedule, records: log.records, log, verification: v }
}

export function run(paths: string[], o: ScheduleScanOptions): void {
  const corpus = readCorpus(paths, { format: o.format, split: o.split, prompts: o.prompts })
  const { schedule, records } = loadScheduleAndLog(o)
  const r = scoreAgainstSchedule(corpus, schedule, records, o)
  if (r.tokensScored === 0) throw nothingScored(r.tokensSeen, 'the corpus')
  const detected = r.log10P <= Math.log10(o.alpha)
  process.stdout.write(o.json ? JSON.stringify(scheduleJson(r, detected, corpus.input)) + '\n' : `${describeInput(corpus.input)}\n${scheduleSummary(r, detected, schedule)}`)
}
