// Neural distillation (issue 14 §1; issue 13 §5's replay probe with one key, B = 1): the shipped model is
// the teacher, serving KGW-watermarked answers (the lab's distillation key: γ = 0.25, δ = 2, h = 3, for this
// seed, on the model's tokenizer); copies of it fine-tuned on prompt + answer sequences mixed with human text
// at ρ (counted in tokens) are the students; each is probed with held-out prompts and with the replayed
// harvested prompts, and its answers are scored by @tokenmark/core (exact binomial tail, de-duplicated, the
// prompts' tuples excluded), the text re-tokenized with the model's tokenizer.json as an investigator would;
// filter `off` scores every context, `accounts` only the contexts of the replayed (harvested) records as served.
// The model work (generation, fine-tuning) is scripts/neural/distill.py, on one torch thread; the key's secret
// reaches it in a mode-0600 file in a private temporary folder, removed afterwards, and is never printed.
//
//   node scripts/neural/distill.mjs --seed 1 [--rhos 0,0.01,0.05,1] [--json]      one seed's rows (~18 min)
//   node scripts/neural/distill.mjs --seeds 1,2,3 --table                          the docs/results.md table
//   node scripts/neural/distill.mjs --from s1.json,s2.json --table                 the same from saved --json runs
//
// Options (defaults are the docs/results.md run): --dataset-tokens 60000 (D: the student's data set, harvest
// and human together), --passes 3 (epochs over it), --lr 1e-3, --train-batch 4, --probe-tokens 30000 (answer
// tokens per probe), --answer-tokens 180, --batch 32 (generation rows), --teacher-top-k 50, --probe-top-k 10
// (the §1 exploration's best probe), --python /usr/bin/python3.
// Needs `pnpm build` (lab and core dist). Like train.sh, it uses Debian's OpenBLAS when found (OPENBLAS_DIR,
// default /usr/lib/x86_64-linux-gnu/openblas-pthread): the reference BLAS is ~20× slower.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { EmissionFilter, Scorer, prepareKey } from '../../packages/core/dist/index.js'
import { DISTILL_KEY_CONFIG, corpusPart, distillKey, neuralModelDir, neuralTokenizer, splitPrompts } from '../../packages/lab/dist/index.js'

const here = dirname(fileURLToPath(import.meta.url))
const { values: o } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    seeds: { type: 'string' },
    rhos: { type: 'string', default: '0,0.01,0.05,1' },
    'dataset-tokens': { type: 'string', default: '60000' },
    passes: { type: 'string', default: '3' },
    lr: { type: 'string', default: '1e-3' },
    'train-batch': { type: 'string', default: '4' },
    'probe-tokens': { type: 'string', default: '30000' },
    'answer-tokens': { type: 'string', default: '180' },
    batch: { type: 'string', default: '32' },
    'teacher-top-k': { type: 'string', default: '50' },
    'probe-top-k': { type: 'string', default: '10' },
    'teacher-prompts': { type: 'string', default: '200' },
    'model-dir': { type: 'string' },
    python: { type: 'string', default: process.env.TOKENMARK_PYTHON ?? '/usr/bin/python3' },
    json: { type: 'boolean', default: false },
    from: { type: 'string' },
    table: { type: 'boolean', default: false },
  },
})

function fail(msg) {
  process.stderr.write(`tokenmark: ${msg}\n`)
  process.exit(2)
}
const num = (name, lo, hi) => {
  const v = Number(o[name])
  if (!Number.isFinite(v) || v < lo || v > hi) fail(`--${name} must be a number in [${lo}, ${hi}]`)
  return v
}
const int = (name, lo, hi) => {
  const v = num(name, lo, hi)
  if (!Number.isInteger(v)) fail(`--${name} must be an integer`)
  return v
}
const settings = {
  datasetTokens: int('dataset-tokens', 100, 10_000_000),
  passes: int('passes', 1, 20),
  lr: num('lr', 1e-7, 1),
  trainBatch: int('train-batch', 1, 256),
  probeTokens: int('probe-tokens', 1, 10_000_000),
  answerTokens: int('answer-tokens', 1, 180), // a 73-token prompt + 180 stays within the model's 255
  batch: int('batch', 1, 256),
  teacherPrompts: int('teacher-prompts', 1, 299),
  teacherTopK: int('teacher-top-k', 0, 4096),
  probeTopK: int('probe-top-k', 0, 4096),
}
const rhos = o.rhos.split(',').map(Number)
if (rhos.some((r) => !(r >= 0 && r <= 1))) fail('--rhos must be numbers in [0, 1]')
const seeds = (o.seeds ?? o.seed).split(',').map(Number)
if (seeds.some((s) => !Number.isInteger(s) || s < 0)) fail('--seed(s) must be non-negative integers')
const modelDir = o['model-dir'] ?? neuralModelDir()

const tk = neuralTokenizer(modelDir)
const split = splitPrompts(settings.teacherPrompts)
const enc = (t) => [...tk.encode(t)]
// Human text: Moby-Dick's train chapters (disjoint from every prompt; the teacher was pre-trained on them).
const human = enc(corpusPart('train').join('\n\n'))

function runSeed(seed) {
  const key = distillKey(seed, { ...DISTILL_KEY_CONFIG, tokenizer: tk.name })
  const dir = mkdtempSync(join(tmpdir(), 'tokenmark-distill-'))
  try {
    const keyPath = join(dir, 'key.json')
    writeFileSync(keyPath, key.toKeyFile(), { mode: 0o600 }) // the secret stays in this private temp folder
    const job = { seed, rhos, ...settings, keyPath, modelDir, harvestPrompts: split.teacher.map(enc), heldoutPrompts: split.probe.map(enc), human }
    writeFileSync(join(dir, 'job.json'), JSON.stringify(job))
    const blasDir = process.env.OPENBLAS_DIR ?? '/usr/lib/x86_64-linux-gnu/openblas-pthread'
    const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', PYTHONDONTWRITEBYTECODE: '1' }
    if (existsSync(join(blasDir, 'libblas.so.3'))) {
      env.LD_LIBRARY_PATH = blasDir + (env.LD_LIBRARY_PATH ? `:${env.LD_LIBRARY_PATH}` : '')
      env.TOKENMARK_BLAS = `openblas (${blasDir})`
    } else env.TOKENMARK_BLAS = 'system libblas.so.3'
    const t0 = Date.now()
    const r = spawnSync(o.python, [join(here, 'distill.py'), '--job', join(dir, 'job.json'), '--out', join(dir, 'out.json')], { env, stdio: ['ignore', 'inherit', 'inherit'] })
    if (r.error) fail(`cannot run ${o.python}: ${r.error.message}`)
    if (r.status !== 0) fail(`distill.py failed for seed ${seed} (exit ${r.status})`)
    const out = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8'))
    return { ...score(key, out), seconds: Math.round((Date.now() - t0) / 1000) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** One exact, de-duplicated test over answers (text as an investigator reads it; prompt tuples excluded),
 *  scoring every context or only those in `filter`. */
function test(key, answers, promptTexts, filter) {
  const scorer = new Scorer(key, { tokenizer: tk, ...(filter ? { filter } : {}) })
  let probeTokens = 0
  for (const a of answers) {
    probeTokens += a.ids.length
    scorer.add(tk.decode(Uint32Array.from(a.ids)), { prompt: promptTexts[a.prompt] })
  }
  const oc = scorer.outcome()
  return { probeTokens, tokensScored: oc.tokensScored, greenRate: oc.tokensScored ? oc.value / oc.tokensScored : 0, log10P: oc.log10P }
}

/**
 * The `accounts` emission filter of docs/results.md §1 and §4: the contexts of the records the suspected
 * (harvesting) accounts received, from the served texts as the provider logged them, 1e-4 false positives
 * (as core's logKeyFilters). Keyed on contexts only, so under H0 a scored token's green bit stays independent
 * of it. At ρ = 0 it holds the smallest ρ's harvest, which that student never trained on: its null.
 */
function harvestFilter(key, records) {
  const items = records.map((r) => ({ prompt: tk.encode(split.teacher[r.prompt]), ids: tk.encode(tk.decode(Uint32Array.from(r.ids))) }))
  const f = new EmissionFilter({ capacity: Math.max(1, items.reduce((n, it) => n + it.ids.length, 0)), falsePositiveRate: 1e-4 })
  const pk = prepareKey(key)
  for (const it of items) f.recordResponse(pk, it.ids, it.prompt)
  return f
}

function score(key, out) {
  const teacher = test(key, out.teacher.answers.slice(0, 64), split.teacher)
  const rows = []
  for (const s of out.students) {
    const filter = harvestFilter(key, out.teacher.answers.slice(0, s.replayRecords))
    for (const probe of ['heldout', 'replay']) {
      for (const f of ['off', 'accounts']) {
        const t = test(key, s.probes[probe], probe === 'heldout' ? split.probe : split.teacher, f === 'off' ? undefined : filter)
        rows.push({ seed: out.seed, rho: s.rho, probe, filter: f, records: s.records, replayRecords: s.replayRecords, harvestTokens: s.harvestTokens, humanTokens: s.humanTokens, steps: s.train.steps, secondsPerStep: s.train.perStep, trainSeconds: s.train.seconds, probeSeconds: s.train.probeSeconds, loss: [s.train.lossFirst, s.train.lossLast], ...t })
      }
    }
  }
  return { seed: out.seed, blas: out.blas, threads: out.threads, teacher: { records: out.teacher.records, answerTokens: out.teacher.answerTokens, seconds: out.teacher.seconds, first64: teacher }, rows }
}

const pct = (r) => `${+(r * 100).toFixed(2)} %`
/** One line per (ρ, probe, filter), the seeds side by side ("s1 / s2 / …", in seed order). */
function markdown(runs) {
  const lines = [
    `| ρ | probe | filter | harvest records (tokens), per seed | probe tokens | tokens scored | green rate (γ = ${DISTILL_KEY_CONFIG.params.gamma}) | log10 p, seeds ${[...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b).join(' / ')} |`,
    '|---|---|---|---|---|---|---|---|',
  ]
  const cells = new Map()
  for (const r of runs.flatMap((x) => x.rows)) {
    const k = `${r.rho}|${r.probe}|${r.filter}`
    if (!cells.has(k)) cells.set(k, [])
    cells.get(k).push(r)
  }
  const order = [...cells.keys()].sort((a, b) => {
    const [ra, pa, fa] = a.split('|')
    const [rb, pb, fb] = b.split('|')
    return Number(ra) - Number(rb) || pa.localeCompare(pb) || fb.localeCompare(fa)
  })
  // Runs of one seed at other ρ (separate --json files) share its column.
  const seedList = [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b)
  // A seed that did not run this ρ shows "—".
  const join = (rows, f) => seedList.map((s) => rows.find((r) => r.seed === s)).map((r) => (r ? f(r) : '—')).join(' / ')
  for (const k of order) {
    const rows = cells.get(k)
    const r0 = rows[0]
    const rec = r0.rho === 0 ? `0 (filter, replays: ${join(rows, (r) => r.replayRecords)} records)` : join(rows, (r) => `${r.records} (${r.harvestTokens.toLocaleString('en-US')})`)
    lines.push(`| ${pct(r0.rho)} | ${r0.probe} | ${r0.filter} | ${rec} | ${join(rows, (r) => r.probeTokens.toLocaleString('en-US'))} | ${join(rows, (r) => r.tokensScored.toLocaleString('en-US'))} | ${join(rows, (r) => r.greenRate.toFixed(3))} | ${join(rows, (r) => r.log10P.toFixed(1))} |`)
  }
  return lines.join('\n')
}

// --from a.json,b.json: the table from earlier --json runs (one seed per process), nothing re-run.
const saved = o.from?.split(',').map((f) => JSON.parse(readFileSync(f, 'utf8')))
const runs = saved ? saved.flatMap((s) => s.runs) : seeds.map(runSeed)
const setup = saved ? saved[0].setup : { ...settings, rhos, seeds, key: { ...DISTILL_KEY_CONFIG, tokenizer: tk.name }, teacherPrompts: split.teacher.length, heldoutPrompts: split.probe.length, humanTokens: human.length }
if (o.table) process.stdout.write(`${markdown(runs)}\n\n${JSON.stringify({ setup, runs: runs.map(({ rows, ...r }) => ({ ...r, steps: rows.map((x) => x.steps), secondsPerStep: rows.map((x) => x.secondsPerStep) })) })}\n`)
else if (o.json) process.stdout.write(`${JSON.stringify({ setup, runs })}\n`)
else process.stdout.write(`${markdown(runs)}\n`)
