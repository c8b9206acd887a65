/**
 * Timing for benchmarks (`tokenmark bench` and the repository's `pnpm bench`): every figure is a median
 * over rounds, and a comparison runs its two sides alternately so that both share the machine's noise.
 */
import { readFileSync } from 'node:fs'

export interface TimeOptions {
  /** Rounds whose median is returned (default 7). */
  rounds?: number
  /** Each round calls fn until at least this many milliseconds have passed (default 150). */
  minMs?: number
  /** Untimed calls before the first round (default 2). */
  warmup?: number
}

/** Median seconds per call of fn. */
export function timeIt(fn: () => unknown, { rounds = 7, minMs = 150, warmup = 2 }: TimeOptions = {}): number {
  for (let i = 0; i < warmup; i++) fn()
  const samples: number[] = []
  for (let r = 0; r < rounds; r++) {
    let calls = 0
    const t0 = process.hrtime.bigint()
    let dt = 0
    do {
      fn()
      calls++
      dt = Number(process.hrtime.bigint() - t0) / 1e6
    } while (dt < minMs)
    samples.push(dt / 1000 / calls)
  }
  return median(samples)
}

/** Runs a and b alternately, one round each at a time; returns both medians (seconds per call). */
export function compare(a: () => unknown, b: () => unknown, opts: TimeOptions = {}): [number, number] {
  const ta: number[] = []
  const tb: number[] = []
  const rounds = opts.rounds ?? 5
  for (let r = 0; r < rounds; r++) {
    ta.push(timeIt(a, { ...opts, rounds: 1, warmup: r === 0 ? 2 : 0 }))
    tb.push(timeIt(b, { ...opts, rounds: 1, warmup: r === 0 ? 2 : 0 }))
  }
  return [median(ta), median(tb)]
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y)
  return s[Math.floor(s.length / 2)]
}

/**
 * CPU seconds of the calling thread (Linux /proc/thread-self/stat: utime + stime, in 1/100 s ticks), so worker
 * threads and the main thread are clocked apart (Node 20 has no process.threadCpuUsage). Elsewhere the
 * process's CPU time, which then counts every thread.
 */
export function threadCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // fields from 3 on: state is f[0], utime f[11], stime f[12]
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1e6
  }
}
