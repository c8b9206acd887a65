// Benchmark helpers: every figure is a median over rounds, and every benchmark runs its baseline in
// the same process on the same data, so ratios survive a noisy shared machine.
import os from 'node:os'

export function machine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu'
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.arch()}`
}

/** Median seconds per call of fn over `rounds` rounds, each at least `minMs` long. */
export function timeIt(fn, { rounds = 7, minMs = 150, warmup = 2 } = {}) {
  for (let i = 0; i < warmup; i++) fn()
  const samples = []
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
  samples.sort((a, b) => a - b)
  return samples[Math.floor(samples.length / 2)]
}

/** Runs a and b alternately (to share the machine's noise) and returns both medians. */
export function compare(a, b, opts) {
  const ta = []
  const tb = []
  const rounds = opts?.rounds ?? 5
  for (let r = 0; r < rounds; r++) {
    ta.push(timeIt(a, { ...opts, rounds: 1, warmup: r === 0 ? 2 : 0 }))
    tb.push(timeIt(b, { ...opts, rounds: 1, warmup: r === 0 ? 2 : 0 }))
  }
  const med = (xs) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]
  return [med(ta), med(tb)]
}

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
