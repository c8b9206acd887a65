/** What `tokenmark log …` does. Options are declared in commands/log.ts; this module loads only when it runs. */
import { writeFileSync } from 'node:fs'
import { TokenmarkError, normalizeText, traceText, generateSchedule, getTokenizer, logKeyFilters, logStats, parseLog, parseSchedule, selectRecords, verifyLog, type KeySchedule, type ParsedLog } from '@tokenmark/core'
import { checkLogHead, EvidenceError, parsePublicKey, type LogHeadCheck, type SignedLogHead } from '@tokenmark/evidence'
import { CliError } from '../errors.js'
import { parseFile, readFileText, readInput, writeSecretFile } from '../io.js'
import type { LogTraceOptions, LogFilterOptions, LogScheduleOptions, LogSelectOptions, LogVerifyOptions, ScheduleFiles } from '../commands/log.js'

export function loadLog(path: string): ParsedLog {
  const text = readFileText(path, 'serving log')
  return parseFile(path, () => parseLog(text), TokenmarkError)
}

export function loadSchedule(o: ScheduleFiles): KeySchedule | undefined {
  if (o.schedule === undefined || o.schedulePublic === undefined) return undefined
  const secret = readFileText(o.schedule, 'schedule secret file')
  const pub = readFileText(o.schedulePublic, 'schedule description')
  return parseFile(o.schedule, () => parseSchedule(secret, pub), TokenmarkError)
}

/** A signed log head (file `path`) checked against `log` (evidence's checkLogHead): signature valid (by `publicKey` when given), and covering the log. */
export function checkSignedHead(path: string, publicKey: string | undefined, log: ParsedLog, chainOk: boolean): LogHeadCheck {
  const text = readFileText(path, 'signed head')
  let signed: SignedLogHead
  try {
    signed = JSON.parse(text) as SignedLogHead
  } catch {
    throw new CliError(`${path}: not JSON`)
  }
  const pk = publicKey === undefined ? undefined : parseFile(publicKey, () => parsePublicKey(readFileText(publicKey, 'public key')), EvidenceError)
  return checkLogHead(signed, log, chainOk, pk)
}

export function verify(path: string, o: LogVerifyOptions): void {
  const log = loadLog(path)
  const schedule = loadSchedule(o)
  const v = verifyLog(log, schedule)
  const signature: { checked: boolean; valid?: boolean; signerId?: string; coversHead?: boolean } =
    o.signature === undefined ? { checked: false } : { checked: true, ...checkSignedHead(o.signature, o.publicKey, log, v.ok) }
  const ok = v.ok && (!signature.checked || (signature.valid === true && signature.coversHead === true))
  if (o.json) process.stdout.write(JSON.stringify({ ...v, ok, scheduleChecked: schedule !== undefined, signature }) + '\n')
  else {
    process.stdout.write(
      (v.ok ? `log ok: ${v.records} records (${v.withText} with texts), head ${v.head.head}\n` : `log BROKEN at line ${v.error?.line}: ${v.error?.reason}\n`) +
        (schedule ? `  checked against schedule ${schedule.scheduleId}\n` : '') +
        (signature.checked ? `  signed head by ${signature.signerId}: signature ${signature.valid ? 'valid' : 'INVALID'}, ${signature.coversHead ? 'covers this log' : 'does NOT match this log'}\n` : ''),
    )
  }
  if (!ok) process.exitCode = 1
}

export function stats(path: string, o: LogSelectOptions & { json?: boolean }): void {
  const log = loadLog(path)
  const s = logStats(selectRecords(log.records, { cohorts: o.cohort, epochs: o.epoch, accounts: o.account }))
  if (o.json) process.stdout.write(JSON.stringify({ scheduleId: log.header.scheduleId, ...s }) + '\n')
  else {
    const lines = [`${s.records} records from ${s.accounts} accounts (${s.withText} with texts), schedule ${log.header.scheduleId}`, 'cohort  records  accounts  epochs']
    for (const c of s.cohorts) lines.push(`${String(c.cohort).padStart(6)}  ${String(c.records).padStart(7)}  ${String(c.accounts).padStart(8)}  ${String(c.epochs).padStart(6)}`)
    lines.push('epoch  records  accounts')
    for (const e of s.epochs) lines.push(`${String(e.epoch).padStart(5)}  ${String(e.records).padStart(7)}  ${String(e.accounts).padStart(8)}`)
    process.stdout.write(lines.join('\n') + '\n')
  }
}

export function filter(path: string, o: LogFilterOptions): void {
  const log = loadLog(path)
  const schedule = loadSchedule(o) as KeySchedule
  const v = verifyLog(log, schedule)
  if (!v.ok) throw new CliError(`${path}: the log does not verify (line ${v.error?.line}: ${v.error?.reason}); run tokenmark log verify`)
  const records = selectRecords(log.records, { cohorts: o.cohort, epochs: o.epoch, accounts: o.account })
  const filters = logKeyFilters(schedule, records, getTokenizer(schedule.params.config.tokenizer), o.fpr)
  if (filters.size === 0) throw new CliError('no selected record carries its texts; nothing to build a filter from')
  const written: { keyId: string; file: string; bytes: number }[] = []
  for (const [keyId, f] of filters) {
    const file = `${o.out}.${keyId}.tmef`
    const bytes = f.toBytes()
    writeFileSync(file, bytes)
    written.push({ keyId, file, bytes: bytes.length })
  }
  if (o.json) process.stdout.write(JSON.stringify({ records: records.length, filters: written }) + '\n')
  else process.stdout.write(written.map((w) => `${w.file}  (${w.bytes} bytes)`).join('\n') + '\n')
}

export function schedule(o: LogScheduleOptions): void {
  let s: KeySchedule
  try {
    s = generateSchedule({ config: { scheme: o.scheme, params: { context: o.context } }, cohorts: o.cohorts, epochs: o.epochs, epochSeconds: o.epochSeconds, start: o.start, canaries: o.canary })
  } catch (e) {
    if (e instanceof TokenmarkError) throw new CliError(e.message)
    throw e
  }
  writeSecretFile(`${o.out}.schedule`, s.toSecretFile(), o.force)
  try {
    writeFileSync(`${o.out}.schedule.json`, s.toPublicFile(), { flag: o.force ? 'w' : 'wx' })
  } catch (e) {
    throw new CliError(`cannot write ${o.out}.schedule.json: ${(e as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  process.stdout.write(`schedule ${s.scheduleId}: ${o.out}.schedule (secret, mode 0600), ${o.out}.schedule.json (public; ring of ${s.ringSize} keys)\n`)
}

export function trace(path: string | undefined, o: LogTraceOptions): void {
  const schedule = loadSchedule(o) as KeySchedule
  const text = readInput(path)
  const records = o.log === undefined ? undefined : loadLog(o.log).records
  const tk = getTokenizer(schedule.params.config.tokenizer)
  const ids = tk.encode(normalizeText(text).text)
  const promptIds = o.prompt === undefined ? undefined : tk.encode(normalizeText(o.prompt).text)
  const t = traceText(schedule, ids, { promptIds, alpha: o.alpha, records })
  if (o.json) process.stdout.write(JSON.stringify(t) + '\n')
  else if (t.match) {
    process.stdout.write(
      `produced by ${t.match.label} in epoch ${t.match.epoch} (key ${t.match.keyId}): p = ${t.pValue.toExponential(2)} corrected for ${t.ringSize} keys (log10 p = ${t.log10P.toFixed(2)}, ${t.tokensScored} tokens scored)\n` +
        (t.accounts ? `  accounts served by it then: ${t.accounts.join(', ') || '(none in the log)'}\n` : ''),
    )
  } else process.stdout.write(`no key: the best of ${t.ringSize} keys gives p = ${t.pValue.toPrecision(2)} after correction (alpha ${t.alpha})\n`)
}
