/**
 * Keyed replay probing (issue 13 §3, docs/spec.md#replay): the prompts to ask the suspect are the ones the
 * provider served, taken from its serving log and chosen by cohort, epoch or account. Each prompt keeps the
 * seq and key id of the record that served it, written with the answer, so that `scan --schedule` scores
 * the answer under the key that served its prompt.
 */
import { selectRecords, verifyLog, type LogSelection } from '@tokenmark/core'
import { CliError } from '../errors.js'
import { loadLog } from '../impl/log.js'
import type { ProbePrompt } from './files.js'

/** `--select cohort=1,2` / `epoch=3` / `account=a,b` (repeatable; lists of one kind add up, kinds AND). */
export function parseSelection(specs: readonly string[]): LogSelection {
  const s: { cohorts?: number[]; epochs?: number[]; accounts?: string[] } = {}
  for (const spec of specs) {
    const m = /^(cohort|epoch|account)=(.+)$/.exec(spec)
    if (!m) throw new CliError(`--select takes cohort=C[,C…], epoch=E[,E…] or account=A[,A…], got "${spec.slice(0, 40)}"`)
    const values = m[2].split(',').filter((v) => v !== '')
    if (m[1] === 'account') s.accounts = [...(s.accounts ?? []), ...values]
    else {
      const nums = values.map((v) => {
        const n = Number(v)
        if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new CliError(`--select ${m[1]}= takes whole numbers ≥ 0, got "${v.slice(0, 20)}"`)
        return n
      })
      if (m[1] === 'cohort') s.cohorts = [...(s.cohorts ?? []), ...nums]
      else s.epochs = [...(s.epochs ?? []), ...nums]
    }
  }
  return s
}

/**
 * The prompts of the selected log records. The log must verify (an altered log is no ground for a claim);
 * records whose prompt text was stripped cannot be replayed and are counted. A prompt served twice under
 * the same key is asked once (its answers would score the same tuples, which de-duplication drops).
 */
export function replayPrompts(path: string, selection: LogSelection): { prompts: ProbePrompt[]; withoutText: number; scheduleId: string } {
  const log = loadLog(path)
  const v = verifyLog(log)
  if (!v.ok) throw new CliError(`${path}: the log does not verify (line ${v.error?.line}: ${v.error?.reason}); run tokenmark log verify`)
  const records = selectRecords(log.records, selection)
  const prompts: ProbePrompt[] = []
  const seen = new Set<string>()
  let withoutText = 0
  for (const r of records) {
    if (r.prompt === undefined || r.prompt.trim() === '') {
      withoutText++
      continue
    }
    const k = `${r.keyId}\0${r.promptHash}`
    if (seen.has(k)) continue
    seen.add(k)
    prompts.push({ id: `log:${r.seq}`, prompt: r.prompt, served: { seq: r.seq, keyId: r.keyId } })
  }
  if (prompts.length === 0) {
    throw new CliError(
      records.length === 0 ? `${path}: no record matches the selection` : `${path}: none of the ${records.length} selected records keeps its prompt text; nothing to replay`,
    )
  }
  return { prompts, withoutText, scheduleId: log.header.scheduleId }
}
