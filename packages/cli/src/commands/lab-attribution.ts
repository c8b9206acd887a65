import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { parseNumber } from '../io.js'

/** Options as commander parses them from the declaration below. */
interface AttributionCliOptions {
  rho?: string
  cohorts: string
  probe: string
  seed: string
  replay: string
  probeTokens?: string
  passes?: string
  trainTokens?: string
  probeTemperature?: string
  replayKeys: string
  null?: string
  table?: boolean
  json?: boolean
}

/** `lab attribution`'s options once checked. */
export interface LabAttributionOptions {
  rho?: number
  cohorts: number
  probe: 'replay' | 'heldout'
  seed: number
  replay: 'suspects' | 'all'
  probeTokens?: number
  passes?: number
  trainTokens?: number
  probeTemperature?: number
  replayKeys: 'own' | 'every'
  nullSchedules?: number
  table: boolean
  json: boolean
}

function whole(flag: string, v: string, lo: number, hi: number): number {
  const n = parseNumber(flag, v)
  if (!Number.isInteger(n) || n < lo || n > hi) throw new CliError(`${flag} must be a whole number in [${lo}, ${hi}]`)
  return n
}

function temperature(v: string): number {
  const t = parseNumber('--probe-temperature', v)
  if (!(t >= 0 && t <= 10)) throw new CliError('--probe-temperature must be in [0, 10] (0 is greedy)')
  return t
}

function check(o: AttributionCliOptions): LabAttributionOptions {
  const modes = [o.rho !== undefined, o.table === true, o.null !== undefined].filter(Boolean).length
  if (modes !== 1) throw new CliError('give one of --rho R (one cell), --table (every cell) or --null N (rho = 0 validity over N schedules)')
  const rho = o.rho === undefined ? undefined : parseNumber('--rho', o.rho)
  if (rho !== undefined && !(rho >= 0 && rho <= 1)) throw new CliError('--rho must be in [0, 1] (a fraction: 0.01 is 1 %)')
  if (o.probe !== 'replay' && o.probe !== 'heldout') throw new CliError(`--probe must be replay or heldout, not "${o.probe.slice(0, 30)}"`)
  if (o.replay !== 'suspects' && o.replay !== 'all') throw new CliError(`--replay must be suspects or all, not "${o.replay.slice(0, 30)}"`)
  if (o.replayKeys !== 'own' && o.replayKeys !== 'every') throw new CliError(`--replay-keys must be own or every, not "${o.replayKeys.slice(0, 30)}"`)
  return {
    rho,
    cohorts: whole('--cohorts', o.cohorts, 1, 65536),
    probe: o.probe,
    seed: whole('--seed', o.seed, 0, 0xffffffff),
    replay: o.replay,
    probeTokens: o.probeTokens === undefined ? undefined : whole('--probe-tokens', o.probeTokens, 1, 1e9),
    passes: o.passes === undefined ? undefined : whole('--passes', o.passes, 1, 100),
    trainTokens: o.trainTokens === undefined ? undefined : whole('--train-tokens', o.trainTokens, 1, 1e9),
    probeTemperature: o.probeTemperature === undefined ? undefined : temperature(o.probeTemperature),
    replayKeys: o.replayKeys,
    nullSchedules: o.null === undefined ? undefined : whole('--null', o.null, 1, 1e6),
    table: o.table === true,
    json: o.json === true,
  }
}

/** `tokenmark lab attribution` (issue 13 §5), a sub-command of `lab`. */
export function registerLabAttribution(lab: Command, program: Command): void {
  const cmd = lab
    .command('attribution')
    .description('attribution simulation: a key schedule, a serving log, harvesting clusters; which cohorts fed the student?')
    .option('--rho <r>', 'fraction of the student\'s training tokens that are harvested prompt + response tokens, in [0, 1]')
    .option('--cohorts <b>', 'B: cohorts per epoch of the key schedule', '16')
    .option('--probe <mode>', 'replay (the log\'s prompts, each answer under its serving key) or heldout (unseen prompts, every key)', 'replay')
    .option('--replay <which>', 'records under investigation: suspects (harvesting accounts and as many wrongly suspected ones) or all', 'suspects')
    .option('--seed <s>', 'seed of every random choice of the simulation (and of its schedule)', '1')
    .option('--probe-tokens <n>', 'answer tokens the investigator collects (default 200,000)')
    .option('--passes <n>', 'passes the distiller makes over its harvest (default 3; rho counts every pass)')
    .option('--train-tokens <n>', 'student training tokens, harvest and human text together (default 900,000)')
    .option('--replay-keys <k>', 'own (each replayed answer under the key that served its prompt) or every (under every key that served a record under investigation)', 'own')
    .option('--probe-temperature <t>', 'temperature at which the investigator samples the student (default 0.5)')
    .option('--table', 'every rho (0, 0.5 %, 1 %, 5 %) x B (1, 16, 256) x probe, seeds 1-3: the Markdown table of docs/results.md')
    .option('--null <n>', 'rho = 0 validity: score one null student against n independent schedules (KS of the global p-values, runs with a cohort flagged)')
    .option('--json', 'print JSON')
    .action(async (o: AttributionCliOptions) => {
      const options = check(o)
      const { run } = await import('../impl/lab-attribution.js')
      return run(options)
    })
  cmd.exitOverride().configureOutput(program.configureOutput())
}
