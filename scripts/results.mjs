#!/usr/bin/env node
/**
 * Regenerates the tables of docs/results.md from the code as it stands (`pnpm results`, which builds first).
 *
 *   node scripts/results.mjs [--only distill,eval,bench] [--check]
 *
 * Each table lives between `<!-- results:NAME -->` and `<!-- /results:NAME -->` in docs/results.md; the
 * script replaces what is between the markers with what the command prints and leaves the prose alone (re-read
 * the prose when numbers move: it quotes some of them). Sections:
 *   distill  `tokenmark lab distill --table`              deterministic, ~1 min on 2 cores
 *   eval     `tokenmark eval --texts 100`                 deterministic, ~30 s
 *   explore  ρ = 1 % under other probe and key settings    deterministic, ~4 min (imports packages/lab/dist)
 *   neural   `tokenmark eval --neural --texts 40`          ~13 min on 2 cores;
 *            onnxruntime's float sums may differ across CPUs, so --check does not hold it to the file
 *   bench    `node --expose-gc bench/run.mjs lab`         timings: depend on the machine and its load
 * --check exits 1 (writing nothing) when a deterministic section differs from the file.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DOC = join(ROOT, 'docs/results.md')
const CLI = join(ROOT, 'packages/cli/dist/main.js')
const { values } = parseArgs({ options: { only: { type: 'string' }, check: { type: 'boolean', default: false } } })

function run(args, what) {
  const t0 = Date.now()
  process.stderr.write(`results: ${what}…\n`)
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'] })
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status})`)
  process.stderr.write(`results: ${what} done in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`)
  return r.stdout
}

const SECTIONS = {
  distill: { deterministic: true, make: () => run([CLI, 'lab', 'distill', '--table'], 'tokenmark lab distill --table') },
  eval: {
    deterministic: true,
    make: () => run([CLI, 'eval', '--texts', '100', '--out', join(mkdtempSync(join(tmpdir(), 'tokenmark-results-')), 'eval.json')], 'tokenmark eval --texts 100'),
  },
  explore: { deterministic: true, make: explore },
  // issue 13 §5; about 30 min on 2 shared cores (scripts/attribution-results.mjs runs it one B per process)
  attribution: { deterministic: true, make: () => run([CLI, 'lab', 'attribution', '--table'], 'tokenmark lab attribution --table') },
  'attribution-every': { deterministic: true, make: () => run([CLI, 'lab', 'attribution', '--table', '--replay-keys', 'every'], 'tokenmark lab attribution --table --replay-keys every') },
  neural: { deterministic: false, make: neuralGrid },
  bench: {
    deterministic: false,
    make: () => {
      const out = run(['--expose-gc', join(ROOT, 'bench/run.mjs'), 'lab'], 'pnpm bench lab')
      const machine = out.split('\n').find((l) => l.startsWith('machine: '))
      const table = out.split('\n').filter((l) => l.startsWith('|'))
      return `${machine} (shared with other work; medians of 5 interleaved rounds for generation, 3 for scans).\n\n${table.join('\n')}\n`
    },
  },
}

/**
 * ρ = 1 % with the `accounts` filter under settings other than the table's, three seeds each (seed s also
 * picks the teacher key), so that no setting is judged on one draw. Only ρ = 1 % is run here: settings are
 * chosen on power alone; validity (ρ = 0) is the test suite's job and does not depend on them.
 */
async function explore() {
  const { Distillation, DISTILL_KEY_CONFIG, distillKey, pow10Text } = await import('../packages/lab/dist/index.js')
  const settings = [
    ['table defaults (probe top-k 50, 1,000 answers, δ = 2, h = 3)', {}, {}],
    ['probe top-k 20', { probeTopK: 20 }, {}],
    ['probe top-k 10', { probeTopK: 10 }, {}],
    ['probe top-k 10, 3,000 answers', { probeTopK: 10, probeAnswers: 3000 }, {}],
    ['teacher δ = 4', {}, { delta: 4 }],
    ['teacher h = 2', {}, { context: 2 }],
  ]
  const seeds = [1, 2, 3]
  const lines = [
    `| setting (ρ = 1 %, accounts filter) | log10 p, seeds ${seeds.join(' / ')} | median log10 p | tokens scored (median) | probe tokens (median) | probe tokens until p stays < 1e-6 |`,
    '|---|---|---|---|---|---|',
  ]
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  for (const [name, opts, params] of settings) {
    process.stderr.write(`results: explore ${name}…\n`)
    const rows = seeds.map((seed) => {
      const key = distillKey(seed, { scheme: 'kgw', params: { ...DISTILL_KEY_CONFIG.params, ...params } })
      const sim = new Distillation(key, { ...opts, seed })
      const row = sim.rows(0.01)[2]
      return { row, probe: sim.setup().probeTokens }
    })
    const l = rows.map((r) => r.row.log10P)
    lines.push(
      `| ${name} | ${l.map((x) => x.toFixed(2)).join(' / ')} | ${med(l).toFixed(2)} (p = ${pow10Text(med(l))}) | ${med(rows.map((r) => r.row.tokensScored)).toLocaleString('en-US')} | ` +
        `${med(rows.map((r) => r.probe)).toLocaleString('en-US')} | ${rows.map((r) => (r.row.probeTokensToP6 === null ? '—' : r.row.probeTokensToP6.toLocaleString('en-US'))).join(' / ')} |`,
    )
  }
  return lines.join('\n') + '\n'
}

/**
 * The evaluation grid with the neural model as generator and judge of quality (`tokenmark eval --neural`:
 * perplexity under the model itself). Smaller than the n-gram grid (40 texts per scheme, lengths 50–200):
 * every token costs a network step here, and the model-based attacks re-run the network from each edit onward
 * (~13 min on 2 shared cores).
 */
async function neuralGrid() {
  const { neuralModelDir } = await import('../packages/lab/dist/index.js')
  const record = JSON.parse(readFileSync(join(neuralModelDir(), 'train-record.json'), 'utf8'))
  const t0 = Date.now()
  const attacks = 'none:0,delete:0.1,insert:0.1,substitute:0.2,swap:0.2,resample:0.3,copy-paste:0.5,homoglyph:0.2'
  const table = run([CLI, 'eval', '--neural', '--texts', '40', '--lengths', '50,100,200', '--attacks', attacks], 'tokenmark eval --neural --texts 40')
  const secs = (Date.now() - t0) / 1000
  const ppl = record.heldoutPerplexity
  return (
    `Model: models/tinylm, ${(record.parameters / 1e6).toFixed(1)} M parameters (${record.config.n_layer} layers, width ${record.config.n_embd}, ` +
    `context ${record.config.n_positions}, BPE vocabulary ${record.config.vocab_size}), trained ${record.steps} steps ` +
    `(${(record.trainTokensSeen / 1e6).toFixed(2)} M tokens) in ${(record.seconds.training / 60).toFixed(0)} min on one CPU thread; held-out perplexity ` +
    `${ppl.mobyDick} (Moby-Dick) / ${ppl.sotu} (State of the Union). Grid: \`tokenmark eval --neural --texts 40 --lengths 50,100,200 ` +
    `--attacks ${attacks}\` (top-k 50), ${(secs / 60).toFixed(1)} min.\n\n` +
    table
  )
}

const only = values.only?.split(',').map((s) => s.trim()) ?? Object.keys(SECTIONS)
for (const n of only) if (!(n in SECTIONS)) throw new Error(`unknown section ${n} (known: ${Object.keys(SECTIONS).join(', ')})`)

let doc = readFileSync(DOC, 'utf8')
let stale = false
for (const name of only) {
  const begin = `<!-- results:${name} -->\n`
  const end = `<!-- /results:${name} -->`
  const i = doc.indexOf(begin)
  const j = doc.indexOf(end)
  if (i < 0 || j < i) throw new Error(`docs/results.md has no ${begin.trim()} … ${end} block`)
  const body = '\n' + (await SECTIONS[name].make()).trim() + '\n\n'
  const old = doc.slice(i + begin.length, j)
  if (old !== body) {
    if (SECTIONS[name].deterministic) stale = true
    process.stderr.write(`results: ${name} ${SECTIONS[name].deterministic ? 'changed' : 'timings refreshed'}\n`)
  }
  doc = doc.slice(0, i + begin.length) + body + doc.slice(j)
}
if (values.check) {
  if (stale) {
    process.stderr.write('results: docs/results.md is stale (run pnpm results)\n')
    process.exit(1)
  }
} else {
  writeFileSync(DOC, doc)
  process.stderr.write('results: wrote docs/results.md\n')
}
