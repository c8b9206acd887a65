import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { parseNumber } from '../io.js'

export interface ScheduleFiles {
  schedule?: string
  schedulePublic?: string
}

export interface LogVerifyOptions extends ScheduleFiles {
  signature?: string
  publicKey?: string
  json?: boolean
}

export interface LogSelectOptions {
  cohort?: number[]
  epoch?: number[]
  account?: string[]
}

export interface LogFilterOptions extends ScheduleFiles, LogSelectOptions {
  out: string
  fpr: number
  json?: boolean
}

export interface LogTraceOptions extends ScheduleFiles {
  log?: string
  prompt?: string
  alpha: number
  json?: boolean
}

export interface LogScheduleOptions {
  out: string
  scheme: string
  context: number
  cohorts: number
  epochs: number
  epochSeconds: number
  start: string
  canary: { name: string; accounts: string[] }[]
  force?: boolean
}

function wholeList(flag: string) {
  return (v: string, prev: number[] = []): number[] => {
    for (const part of v.split(',')) {
      const n = parseNumber(flag, part)
      if (!Number.isInteger(n) || n < 0) throw new CliError(`${flag} takes whole numbers ≥ 0 (comma-separated)`)
      prev.push(n)
    }
    return prev
  }
}

function whole(flag: string, lo: number) {
  return (v: string): number => {
    const n = parseNumber(flag, v)
    if (!Number.isInteger(n) || n < lo) throw new CliError(`${flag} must be a whole number ≥ ${lo}`)
    return n
  }
}

const strList = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').filter((s) => s.length > 0)]

function canary(v: string, prev: { name: string; accounts: string[] }[] = []): { name: string; accounts: string[] }[] {
  const m = /^([^=]+)=(.+)$/.exec(v)
  if (!m) throw new CliError('--canary takes NAME=ACCOUNT[,ACCOUNT...]')
  return [...prev, { name: m[1], accounts: m[2].split(',').filter((s) => s.length > 0) }]
}

function needSchedule(o: ScheduleFiles): void {
  if ((o.schedule === undefined) !== (o.schedulePublic === undefined)) throw new CliError('give both --schedule (secret file) and --schedule-public (its public description), or neither')
}

/** `tokenmark log …`: serving logs and the key schedules they were written under (docs/spec.md#serving-log). */
export function registerLog(program: Command): void {
  const log = program.command('log').description('serving logs (hash-chained, one record per response) and key schedules')
  const sub: Command[] = []
  const withSchedule = (c: Command) =>
    c.option('--schedule <file>', 'schedule secret file (with --schedule-public): also check epochs, cohorts and key ids').option('--schedule-public <file>', 'schedule public description')
  sub.push(
    withSchedule(log.command('verify').description('check a log\'s hash chain (and, given them, its schedule and a signed head)').argument('<log>', 'serving log (JSON lines)'))
      .option('--signature <file>', 'signed head (JSON from the provider): check it covers this log\'s head')
      .option('--public-key <file>', 'the signer\'s public key file (default: the key the signed head names, integrity only)')
      .option('--json', 'print JSON')
      .action(async (path: string, o: LogVerifyOptions) => {
        needSchedule(o)
        const { verify } = await import('../impl/log.js')
        return verify(path, o)
      }),
  )
  sub.push(
    log
      .command('stats')
      .description('records, accounts, and records per cohort, epoch and key')
      .argument('<log>', 'serving log (JSON lines)')
      .option('--cohort <c>', 'only these cohorts (comma-separated, repeatable)', wholeList('--cohort'))
      .option('--epoch <e>', 'only these epochs', wholeList('--epoch'))
      .option('--account <a>', 'only these accounts', strList)
      .option('--json', 'print JSON')
      .action(async (path: string, o: LogSelectOptions & { json?: boolean }) => {
        const { stats } = await import('../impl/log.js')
        return stats(path, o)
      }),
  )
  sub.push(
    withSchedule(log.command('filter').description('emission filter of the selected records, one (cohort, epoch) key at a time, for scan --filter').argument('<log>', 'serving log (JSON lines, with texts)'))
      .requiredOption('--out <prefix>', 'writes <prefix>.<keyId>.tmef per key of the selection')
      .option('--cohort <c>', 'only these cohorts (comma-separated, repeatable)', wholeList('--cohort'))
      .option('--epoch <e>', 'only these epochs', wholeList('--epoch'))
      .option('--account <a>', 'only these accounts', strList)
      .option('--fpr <f>', 'false-positive rate of each filter at capacity', (v: string) => parseNumber('--fpr', v), 1e-4)
      .option('--json', 'print JSON')
      .action(async (path: string, o: LogFilterOptions) => {
        if (o.schedule === undefined) throw new CliError('log filter needs --schedule and --schedule-public (the keys of the records)')
        needSchedule(o)
        if (!(o.fpr > 0 && o.fpr < 1)) throw new CliError('--fpr must be in (0, 1)')
        const { filter } = await import('../impl/log.js')
        return filter(path, o)
      }),
  )
  sub.push(
    withSchedule(log.command('trace').description('which (cohort, epoch) key produced one leaked text; "no key" when none at the corrected level').argument('[text]', 'text file (default stdin)'))
      .option('--log <file>', 'serving log: list the accounts the matched cohort served in that epoch')
      .option('--prompt <text>', 'the prompt the text answered (its tuples are excluded)')
      .option('--alpha <a>', 'level of the corrected p-value for a match', (v: string) => parseNumber('--alpha', v), 1e-6)
      .option('--json', 'print JSON')
      .action(async (path: string | undefined, o: LogTraceOptions) => {
        if (o.schedule === undefined) throw new CliError('log trace needs --schedule and --schedule-public')
        needSchedule(o)
        if (!(o.alpha > 0 && o.alpha < 1)) throw new CliError('--alpha must be in (0, 1)')
        const { trace } = await import('../impl/log.js')
        return trace(path, o)
      }),
  )
  sub.push(
    log
      .command('schedule')
      .description('a new key schedule: <out>.schedule (secret, mode 0600) and <out>.schedule.json (public description)')
      .requiredOption('--out <prefix>', 'file prefix')
      .option('--scheme <s>', 'watermark scheme', 'kgw')
      .option('--context <h>', 'context width h of the seeding rule', whole('--context', 0), 3)
      .option('--cohorts <b>', 'cohorts per epoch', whole('--cohorts', 1), 16)
      .option('--epochs <e>', 'epochs the schedule covers', whole('--epochs', 1), 52)
      .option('--epoch-seconds <s>', 'epoch length in seconds', whole('--epoch-seconds', 1), 7 * 86400)
      .option('--start <iso>', 'start of epoch 0 (ISO 8601; default: now)')
      .option('--canary <name=accounts>', 'a canary cohort NAME=ACCOUNT[,ACCOUNT...] (repeatable)', canary)
      .option('--force', 'overwrite existing files')
      .action(async (o: LogScheduleOptions) => {
        const { schedule } = await import('../impl/log.js')
        return schedule({ ...o, canary: o.canary ?? [], start: o.start ?? new Date().toISOString() })
      }),
  )
  for (const c of sub) c.exitOverride().configureOutput(program.configureOutput())
  log.exitOverride().configureOutput(program.configureOutput())
}
