/**
 * Serving through a key schedule with a serving log (issue 13; docs/spec.md#schedules, #serving-log):
 * each request is watermarked with the key of its account's cohort in the current epoch, and each
 * response becomes one hash-chained record. The log file is appended line by line; give it a path
 * outside the repository's working tree (`*.servelog` is git-ignored in case it lands there).
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import { ServingLog, parseLog, type CohortKey, type KeySchedule } from '@tokenmark/core'

export class ScheduledServing {
  readonly schedule: KeySchedule
  readonly log: ServingLog
  private readonly file: string | undefined

  /** Resumes the log at `file` when it exists (its chain continues), else starts one there. */
  constructor(schedule: KeySchedule, file?: string) {
    this.schedule = schedule
    this.file = file
    if (file && existsSync(file)) {
      const parsed = parseLog(readFileSync(file, 'utf8'))
      if (parsed.header.scheduleId !== schedule.scheduleId) throw new Error(`${file} was written under another schedule`)
      this.log = ServingLog.resume(parsed)
    } else {
      this.log = new ServingLog({ scheduleId: schedule.scheduleId })
      if (file) appendFileSync(file, this.log.headerLine(), { mode: 0o600 })
    }
  }

  /** The key that serves `account` now. */
  keyFor(account: string, time: Date): CohortKey {
    return this.schedule.keyForAccount(account, time)
  }

  /** Appends the record of one served response. */
  record(ck: CohortKey, account: string, time: string, prompt: string, response: string): void {
    const { line } = this.log.append({ time, account, epoch: ck.epoch, cohort: ck.cohort, keyId: ck.key.keyId, prompt, response })
    if (this.file) appendFileSync(this.file, line)
  }
}
