// Benchmark helpers: every figure is a median over rounds, and every benchmark runs its baseline in
// the same process on the same data, so ratios survive a noisy shared machine.
import os from 'node:os'

export function machine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu'
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.arch()}`
}

// timeIt and compare are the CLI's (tokenmark bench uses the same timing).
export { compare, threadCpuSeconds, timeIt } from '../packages/cli/dist/timing.js'

export function fmt(x, digits = 3) {
  if (!Number.isFinite(x)) return String(x)
  if (Math.abs(x) >= 1e6) return x.toExponential(2)
  return Number(x.toPrecision(digits)).toLocaleString('en-US')
}

export function row(name, value, goal, ok) {
  return { name, value, goal, ok }
}

export function printTable(title, rows) {
  console.log(`\n## ${title}\n`)
  console.log('| measure | value | goal | met |')
  console.log('|---|---|---|---|')
  for (const r of rows) console.log(`| ${r.name} | ${r.value} | ${r.goal ?? ''} | ${r.ok === undefined ? '' : r.ok ? 'yes' : 'no'} |`)
}
