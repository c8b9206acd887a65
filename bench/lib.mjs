// Benchmark helpers: every figure is a median over rounds, and every benchmark runs its baseline in
// the same process on the same data, so ratios survive a noisy shared machine.
import { readFileSync } from 'node:fs'
import os from 'node:os'

export function machine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu'
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.arch()}`
}

// timeIt and compare are the CLI's (tokenmark bench uses the same timing).
export { compare, timeIt } from '../packages/cli/dist/timing.js'

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

/**
 * CPU seconds of the calling thread (Linux /proc/thread-self/stat: utime + stime, in 1/100 s ticks), so worker
 * threads and the main thread are clocked apart (Node 20 has no process.threadCpuUsage). Elsewhere the
 * process's CPU time, which then counts every thread.
 */
export function threadCpuSeconds() {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // fields from 3 on: state is f[0], utime f[11], stime f[12]
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1e6
  }
}
