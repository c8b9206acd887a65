#!/usr/bin/env node
/**
 * The distillation story, end to end over HTTP on loopback (`npm run demo:distillation`; test/journey.test.ts
 * runs this same script and checks what it leaves behind):
 *
 *   1. a provider serves watermarked responses (examples/provider-api, KGW with context width 1);
 *   2. a harvester with many account keys collects N responses through both API formats;
 *   3. a student n-gram model is trained on a fraction ρ of them mixed with human text (lab `student` part),
 *      a control model on the human text alone; each is served by examples/suspect-api;
 *   4. an investigator probes both with held-out prompts through `tokenmark probe`, streaming the samples
 *      into cases of `tokenmark serve`, and reads each case's running result;
 *   5. the legal team's copy comes from the server: each case's HTML report and signed evidence bundle
 *      (signed with the tenant's signing key, which never leaves the server), the tenant's public key from
 *      /v1/signing-key, and `tokenmark verify` checks the bundle with it and the provider's watermark key.
 *
 * Then attribution at realistic contamination (issue 13; docs/results.md §4):
 *  10. a provider serving through a key schedule (16 cohorts) and a hash-chained serving log, to hundreds of
 *      accounts, among them a few harvesting clusters; its log head signed with the provider's signing key;
 *  11. a student trained on the harvest at ρ ≤ 5 % of its training tokens (prompt + response sequences, three
 *      passes as fine-tuning epochs, mixed with 300,000 human tokens: Moby-Dick's student chapters, then State
 *      of the Union addresses) and a control trained on the same human text alone;
 *  12. keyed replay: `tokenmark probe --replay LOG --select account=… --temperature 0.5 --repeat 8` asks the
 *      student and the control the suspected accounts' logged prompts (each 8 times), and `tokenmark scan
 *      --schedule --log --log-filter --every-served-key` scores each answer under every key that served one of
 *      those records, each only at contexts it served in them (global test, per-cohort Holm tests);
 *  13. `tokenmark report --schedule --log --log-filter --every-served-key` seals the attribution section into a
 *      signed bundle.
 * The demo prints what the test reaches, whatever it is (docs/results.md §4 has the lab's table).
 *
 * node scripts/demo-distillation.mjs [--out DIR] [--harvest N] [--rho R] [--probe N] [--attribution-rho R] [--attribution-human T] [--quiet]
 * Needs a build first (`npm run build`). Everything it writes is in DIR, named at the end.
 */
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { KeySchedule, generateKey, getTokenizer, parseLog, parseSchedule } from '../packages/core/dist/index.js'
import { generateSigningKey, openBundle, signLogHead } from '../packages/evidence/dist/index.js'
import { NGramModel, encodeCorpus, prompts, saveModelFile, stateOfTheUnion, trainReferenceModel } from '../packages/lab/dist/index.js'
import { buildProviderApi } from '../examples/provider-api/dist/index.js'
import { buildSuspectApi } from '../examples/suspect-api/dist/index.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CLI = join(ROOT, 'packages/cli/dist/main.js')
const { values: a } = parseArgs({
  options: {
    out: { type: 'string' },
    harvest: { type: 'string', default: '1200' },
    rho: { type: 'string', default: '0.85' },
    probe: { type: 'string', default: '100' },
    accounts: { type: 'string', default: '25' },
    'attribution-rho': { type: 'string', default: '0.05' },
    'attribution-human': { type: 'string', default: '300000' },
    'attribution-passes': { type: 'string', default: '3' },
    'replay-repeat': { type: 'string', default: '8' },
    'attribution-context': { type: 'string', default: '3' },
    customers: { type: 'string', default: '300' },
    // A fixed schedule secret (derived from this number) instead of a fresh one: the journey test's run is then
    // deterministic end to end (every other random draw of the demo is seeded already).
    'schedule-seed': { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
})
const N = Number(a.harvest)
const RHO = Number(a.rho)
const PROBES = Number(a.probe)
const ACCOUNTS = Number(a.accounts)
const OUT = resolve(a.out ?? `distillation-demo-${new Date().toISOString().replace(/[:.]/g, '-')}`)
mkdirSync(OUT, { recursive: true })
const log = (s) => a.quiet || process.stderr.write(s)
const t0 = Date.now()
const timings = {}
let stepNo = 0
async function step(label, fn) {
  const t = Date.now()
  log(`[${++stepNo}/13] ${label} …${a.quiet ? '' : '\n'}`)
  const r = await fn()
  timings[label] = (Date.now() - t) / 1000
  log(`      done in ${timings[label].toFixed(1)} s\n`)
  return r
}
function bar(done, total, what) {
  if (a.quiet || !process.stderr.isTTY) return
  const w = 28
  const f = Math.round((done / total) * w)
  process.stderr.write(`\r      [${'#'.repeat(f)}${'.'.repeat(w - f)}] ${done}/${total} ${what}${done === total ? '\n' : ''}`)
}

/** Runs the CLI; resolves with its output, rejects on a non-zero exit unless `allowFail`. */
function cli(args, { env = {}, allowFail = false, passStderr = false } = {}) {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', passStderr && !a.quiet ? 'inherit' : 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr?.on('data', (d) => (err += d))
    child.on('close', (code) => (code === 0 || allowFail ? res({ code, out, err }) : rej(new Error(`tokenmark ${args[0]} exited ${code}: ${err.trim().split('\n').at(-1)}`))))
  })
}

const closers = []
async function main() {
  const tokenizer = getTokenizer('o200k_base')
  const allPrompts = prompts()
  const harvestPrompts = allPrompts.slice(0, 200)
  const probePrompts = allPrompts.slice(200, 200 + PROBES) // held out: never sent to the provider

  const { provider, providerKey } = await step('the watermark key and the provider API (teacher model, KGW context width 1)', async () => {
    const key = generateKey({ scheme: 'kgw', params: { context: 1 } })
    writeFileSync(join(OUT, 'provider.tmkey'), key.toKeyFile(), { mode: 0o600 })
    const accounts = Object.fromEntries(Array.from({ length: ACCOUNTS }, (_, i) => [`sk-harvest-${i}-${randomBytes(6).toString('hex')}`, `acct-${1000 + i}`]))
    const app = await buildProviderApi({ model: trainReferenceModel(tokenizer, { part: 'teacher' }), tokenizer, key, accounts, adminToken: 'provider-admin', seed: 1 })
    closers.push(() => app.close())
    const url = await app.listen({ host: '127.0.0.1', port: 0 })
    log(`      provider on ${url}, key ${key.keyId}, ${ACCOUNTS} accounts\n`)
    return { provider: { app, url, apiKeys: Object.keys(accounts) }, providerKey: key }
  })

  const harvested = await step(`harvesting ${N} responses through ${ACCOUNTS} accounts (both API formats)`, async () => {
    const out = new Array(N)
    let next = 0
    let done = 0
    const one = async (i) => {
      const apiKey = provider.apiKeys[i % provider.apiKeys.length]
      const prompt = harvestPrompts[i % harvestPrompts.length]
      const body = { model: 'tokenmark-teacher', messages: [{ role: 'user', content: prompt }], max_tokens: 128 }
      const anthropic = i % 2 === 1
      const r = await fetch(`${provider.url}${anthropic ? '/v1/messages' : '/v1/chat/completions'}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(anthropic ? { 'x-api-key': apiKey } : { authorization: `Bearer ${apiKey}` }) },
        body: JSON.stringify(body),
      })
      if (!r.ok) throw new Error(`provider answered HTTP ${r.status}`)
      const j = await r.json()
      out[i] = { prompt, text: anthropic ? j.content[0].text : j.choices[0].message.content }
      bar(++done, N, 'responses')
    }
    await Promise.all(Array.from({ length: 4 }, async () => { while (next < N) await one(next++) }))
    writeFileSync(join(OUT, 'harvest.jsonl'), out.map((s) => JSON.stringify(s) + '\n').join(''))
    const res = await fetch(`${provider.url}/admin/responses`, { headers: { authorization: 'Bearer provider-admin' } })
    writeFileSync(join(OUT, 'provider-response-log.jsonl'), await res.text())
    return out
  })

  const models = await step(`training the student (ρ = ${RHO} of the harvest + human text) and the control (human text only)`, async () => {
    const human = encodeCorpus(tokenizer, 'student')
    const used = harvested.slice(0, Math.round(RHO * N))
    // Each harvested response is learned after its prompt, as a distillation set pairs them.
    const distilled = used.map((s) => Uint32Array.from([...tokenizer.encode(s.prompt), ...tokenizer.encode(s.text)]))
    const student = NGramModel.train([...human, ...distilled], { vocabSize: tokenizer.vocabSize })
    const control = NGramModel.train(human, { vocabSize: tokenizer.vocabSize })
    saveModelFile(join(OUT, 'student.tmlm'), student, { tokenizer: tokenizer.name })
    saveModelFile(join(OUT, 'control.tmlm'), control, { tokenizer: tokenizer.name })
    const count = (xs) => xs.reduce((s, x) => s + x.length, 0)
    const stats = { harvestedResponses: used.length, harvestedTokens: count(distilled), humanTokens: count(human) }
    stats.harvestedShare = stats.harvestedTokens / (stats.harvestedTokens + stats.humanTokens)
    log(`      student: ${stats.harvestedTokens} harvested + ${stats.humanTokens} human tokens (${(100 * stats.harvestedShare).toFixed(0)} % harvested)\n`)
    return { student, control, stats }
  })

  const suspects = await step('serving the student and the control behind suspect APIs', async () => {
    const s = {}
    for (const [name, model, seed] of [['student', models.student, 11], ['control', models.control, 12]]) {
      const app = await buildSuspectApi({ model, tokenizer, seed, modelName: `${name}-1` })
      closers.push(() => app.close())
      s[name] = await app.listen({ host: '127.0.0.1', port: 0 })
    }
    return s
  })

  const server = await step('starting tokenmark serve and opening a case per suspect', async () => {
    const token = `tmt_${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').slice(0, 12)}_${randomBytes(32).toString('base64url')}`
    mkdirSync(join(OUT, 'server'), { recursive: true })
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--db', join(OUT, 'server', 'tokenmark.db'), '--log-level', 'warn'], {
      env: { ...process.env, TOKENMARK_ADMIN_TOKEN: token, TOKENMARK_MASTER_SECRET: randomBytes(32).toString('hex') },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const stopped = new Promise((r) => child.on('close', r))
    closers.push(async () => {
      child.kill('SIGTERM')
      await stopped
    })
    const url = await new Promise((res, rej) => {
      let out = ''
      child.stdout.on('data', (d) => {
        out += d
        const m = /listening on (\S+)/.exec(out)
        if (m) res(m[1])
      })
      child.on('close', (code) => rej(new Error(`tokenmark serve exited ${code}`)))
    })
    /** A call to the server; JSON unless `accept` asks for another type (then text, or bytes for a bundle). */
    const api = async (method, path, body, accept) => {
      const r = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}), ...(accept ? { accept } : {}) },
        body: body && JSON.stringify(body),
      })
      if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status} ${(await r.json().catch(() => ({}))).error?.message}`)
      if (!accept || accept === 'application/json') return r.json()
      return accept.startsWith('text/') ? r.text() : new Uint8Array(await r.arrayBuffer())
    }
    const key = await api('POST', '/v1/keys', { keyFile: providerKey.toKeyFile(), name: 'provider key' })
    const cases = {}
    for (const name of ['student', 'control']) cases[name] = (await api('POST', '/v1/cases', { name: `suspect API: ${name}`, keyId: key.keyId })).id
    log(`      server on ${url}; cases ${cases.student} (student), ${cases.control} (control)\n`)
    return { url, token, api, cases }
  })

  await step(`probing both suspects with ${PROBES} held-out prompts (tokenmark probe → server cases)`, async () => {
    writeFileSync(join(OUT, 'probe-prompts.jsonl'), probePrompts.map((p, i) => JSON.stringify({ id: `probe-${i}`, prompt: p }) + '\n').join(''))
    const format = { student: 'openai', control: 'anthropic' } // one suspect per wire format
    // Four requests at a time; the journey asserts the case receives every probed sample.
    await Promise.all(
      ['student', 'control'].map((name) =>
        cli(
          ['probe', '--endpoint', suspects[name], '--format', format[name], '--model', `${name}-1`, '--prompts', join(OUT, 'probe-prompts.jsonl'), '--out', join(OUT, `${name}-samples.jsonl`),
            '--max-tokens', '128', '--concurrency', '4', '--api-key-env', 'SUSPECT_KEY', '--case', server.cases[name], '--server', server.url, '--token-env', 'TOKENMARK_TOKEN'],
          { env: { SUSPECT_KEY: 'sk-investigator', TOKENMARK_TOKEN: server.token } },
        ),
      ),
    )
  })

  const results = await step('reading each case’s result from the server', async () => {
    const r = {}
    for (const name of ['student', 'control']) r[name] = await server.api('GET', `/v1/cases/${server.cases[name]}/result`)
    for (const name of ['student', 'control']) log(`      ${name.padEnd(8)} p = ${r[name].pValue.toExponential(2)}  (log10 p = ${r[name].log10P.toFixed(1)}, ${r[name].tokensScored} tokens scored)  ${r[name].detected ? 'DETECTED' : 'not detected'}\n`)
    return r
  })

  const reports = await step('fetching each case’s signed evidence bundle and HTML report from the server', async () => {
    // The tenant's public key, saved as the public key file `tokenmark verify --public-key` reads.
    writeFileSync(join(OUT, 'signing.key.pub'), JSON.stringify(await server.api('GET', '/v1/signing-key'), null, 2) + '\n')
    const r = {}
    for (const name of ['student', 'control']) {
      const id = server.cases[name]
      const bundle = await server.api('GET', `/v1/cases/${id}/bundle`, undefined, 'application/vnd.tokenmark.evidence+msgpack')
      writeFileSync(join(OUT, `${name}.tmev`), bundle)
      writeFileSync(join(OUT, `report-${name}.html`), await server.api('GET', `/v1/cases/${id}/report`, undefined, 'text/html'))
      const model = await server.api('GET', `/v1/cases/${id}/report`, undefined, 'application/json')
      const { body } = openBundle(bundle)
      r[name] = {
        report: join(OUT, `report-${name}.html`),
        bundle: join(OUT, `${name}.tmev`),
        summary: model.verdict.sentence,
        detected: model.verdict.detected,
        bundleResult: { tokensScored: body.statistics.tokensScored, statistic: body.method.statistic, log10P: body.result.log10P },
      }
      log(`      ${name.padEnd(8)} ${r[name].summary}\n`)
    }
    return r
  })

  const verified = await step('verifying the student’s bundle with the server’s public key (tokenmark verify)', async () => {
    const v = await cli(['verify', reports.student.bundle, '--public-key', join(OUT, 'signing.key.pub'), '--key', join(OUT, 'provider.tmkey')], { allowFail: true })
    log(`      ${v.out.split('\n')[0]}\n`)
    return v.code === 0
  })

  const attribution = await attributionStory({ tokenizer, allPrompts })

  const summary = {
    attribution,
    parameters: { scheme: 'kgw', context: 1, harvest: N, rho: RHO, accounts: ACCOUNTS, probes: PROBES, maxTokens: 128, topK: 40 },
    training: models.stats,
    server: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { caseId: server.cases[k], samples: v.texts, pValue: v.pValue, log10P: v.log10P, eValue: v.eValue, tokensScored: v.tokensScored, statistic: v.statistic, detected: v.detected }])),
    reports,
    signingKey: join(OUT, 'signing.key.pub'),
    bundleVerified: verified,
    timings,
    seconds: (Date.now() - t0) / 1000,
  }
  writeFileSync(join(OUT, 'summary.json'), JSON.stringify(summary, null, 2) + '\n')
  log(`\nDone in ${summary.seconds.toFixed(1)} s. Everything is in ${OUT}:\n  report   ${reports.student.report}\n  bundle   ${reports.student.bundle} (verify: npm run tokenmark -- verify ${reports.student.bundle} --public-key ${join(OUT, 'signing.key.pub')} --key ${join(OUT, 'provider.tmkey')})\n  control  ${reports.control.report}\n  attribution (ρ = ${(100 * attribution.rho).toFixed(1)} %, ${attribution.accounts} accounts): ${attribution.reached}\n           report ${attribution.report}\n  summary  ${join(OUT, 'summary.json')}\n`)
  if (a.quiet) process.stdout.write(OUT + '\n')
}

/** Steps 10–13: a scheduled provider with a serving log, a student at ρ ≤ 5 %, keyed replay, the attribution report. */
async function attributionStory({ tokenizer, allPrompts }) {
  const RHO_A = Number(a['attribution-rho'])
  const PASSES = Number(a['attribution-passes'])
  // KGW over the 3 previous tokens (the lab's attribution setting): a served context then names the response
  // it came from, so per-key log filters select the student's reproduced harvest (with 1 token of context
  // nearly every context is served by every key and the filter selects nothing).
  const CONTEXT_A = Number(a['attribution-context'])
  // Human text of the attribution student and its control: Moby-Dick's student chapters, then State of the
  // Union addresses, cut at --attribution-human tokens (the lab's attribution world does the same).
  const human = encodeCorpus(tokenizer, 'student')
  let humanTokens = human.reduce((t, x) => t + x.length, 0)
  for (const text of stateOfTheUnion()) {
    if (humanTokens >= Number(a['attribution-human'])) break
    const ids = tokenizer.encode(text)
    human.push(ids)
    humanTokens += ids.length
  }
  const CUSTOMERS = Number(a.customers)
  const dir = join(OUT, 'attribution')
  mkdirSync(dir, { recursive: true })
  const clusters = [0, 1, 2].map((c) => Array.from({ length: 4 }, (_, i) => `acct-h${c}-${i}`))
  const harvesters = clusters.flat()
  const customers = Array.from({ length: CUSTOMERS }, (_, i) => `acct-c${String(i).padStart(3, '0')}`)

  const traffic = await step(`a provider serving ${CUSTOMERS + harvesters.length} accounts through a key schedule of 16 cohorts, with a serving log`, async () => {
    const start = new Date(Date.now() - 1000).toISOString()
    if (a['schedule-seed'] === undefined) {
      await cli(['log', 'schedule', '--out', join(dir, 'provider'), '--cohorts', '16', '--epochs', '4', '--epoch-seconds', '86400', '--context', String(CONTEXT_A), '--start', start])
    } else {
      const secret = createHash('sha256').update(`tokenmark demo schedule ${a['schedule-seed']}`).digest()
      const s = new KeySchedule(new Uint8Array(secret), { config: { scheme: 'kgw', params: { context: CONTEXT_A } }, cohorts: 16, epochs: 4, epochSeconds: 86400, start })
      writeFileSync(join(dir, 'provider.schedule'), s.toSecretFile(), { mode: 0o600 })
      writeFileSync(join(dir, 'provider.schedule.json'), s.toPublicFile())
    }
    const schedule = parseSchedule(readFileSync(join(dir, 'provider.schedule'), 'utf8'), readFileSync(join(dir, 'provider.schedule.json'), 'utf8'))
    const apiKeys = Object.fromEntries([...customers, ...harvesters].map((acct) => [`sk-${acct}-${randomBytes(6).toString('hex')}`, acct]))
    const keyOf = Object.fromEntries(Object.entries(apiKeys).map(([k, v]) => [v, k]))
    const logFile = join(dir, 'serving.log')
    const app = await buildProviderApi({ model: trainReferenceModel(tokenizer, { part: 'teacher' }), tokenizer, key: generateKey({ scheme: 'kgw', params: { context: CONTEXT_A } }), accounts: apiKeys, schedule, servingLog: logFile, seed: 2 })
    closers.push(() => app.close())
    const url = await app.listen({ host: '127.0.0.1', port: 0 })
    // Every customer asks once; the harvesting accounts ask enough distinct prompts for a harvest of ρ ≤ 5 %
    // of the student's training tokens over its passes (about 140 tokens per prompt + response).
    const harvestCount = Math.max(harvesters.length, Math.round((RHO_A * humanTokens) / (1 - RHO_A) / PASSES / 140))
    const requests = [
      ...customers.map((acct, i) => ({ acct, prompt: allPrompts[i % 200] })),
      ...Array.from({ length: harvestCount }, (_, i) => ({ acct: harvesters[i % harvesters.length], prompt: allPrompts[(7 * i + 3) % 200], harvest: true })),
    ]
    const harvest = []
    let next = 0
    let done = 0
    // One request at a time: the provider draws its randomness in arrival order, so the run stays the same
    // for the same --schedule-seed (the journey test relies on that).
    await Promise.all(
      Array.from({ length: 1 }, async () => {
        while (next < requests.length) {
          const rq = requests[next++]
          const r = await fetch(`${url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${keyOf[rq.acct]}` },
            body: JSON.stringify({ model: 'tokenmark-teacher', messages: [{ role: 'user', content: rq.prompt }], max_tokens: 128 }),
          })
          if (!r.ok) throw new Error(`provider answered HTTP ${r.status}`)
          if (rq.harvest) harvest.push({ prompt: rq.prompt, text: (await r.json()).choices[0].message.content })
          bar(++done, requests.length, 'requests')
        }
      }),
    )
    const signer = generateSigningKey()
    writeFileSync(join(dir, 'provider-signing.key.pub'), signer.toPublicKeyFile())
    writeFileSync(join(dir, 'log-head.json'), JSON.stringify(signLogHead(app.provider.scheduled.log.head(), signer)) + '\n')
    const records = parseLog(readFileSync(logFile, 'utf8')).records
    const harvestingCohorts = [...new Set(records.filter((r) => harvesters.includes(r.account)).map((r) => r.cohort))].sort((x, y) => x - y)
    log(`      ${records.length} responses logged; harvesting clusters ${clusters.map((c) => c[0].replace(/-0$/, '')).join(', ')} (${harvesters.length} accounts) served by cohorts ${harvestingCohorts.join(', ')}\n`)
    return { schedule, harvest, records, harvestingCohorts }
  })

  const student = await step(`training a student on the harvest at ρ ≤ ${(100 * RHO_A).toFixed(0)} % of its training tokens, and its control`, async () => {
    const distilled = traffic.harvest.map((s) => Uint32Array.from([...tokenizer.encode(s.prompt), ...tokenizer.encode(s.text)]))
    // --attribution-passes passes over the harvest, as a fine-tuning run's epochs; ρ counts every pass's tokens
    const model = NGramModel.train([...human, ...Array.from({ length: PASSES }, () => distilled).flat()], { vocabSize: tokenizer.vocabSize })
    const control = NGramModel.train(human, { vocabSize: tokenizer.vocabSize })
    const harvestedTokens = PASSES * distilled.reduce((t, x) => t + x.length, 0)
    const rho = harvestedTokens / (harvestedTokens + humanTokens)
    log(`      ${traffic.harvest.length} harvested responses seen ${PASSES} times, ${harvestedTokens} tokens: ρ = ${(100 * rho).toFixed(1)} % of ${harvestedTokens + humanTokens} training tokens (${humanTokens} human)\n`)
    const urls = {}
    for (const [name, m, seed] of [['student', model, 21], ['control', control, 22]]) {
      const app = await buildSuspectApi({ model: m, tokenizer, seed, modelName: `${name}-2` })
      closers.push(() => app.close())
      urls[name] = await app.listen({ host: '127.0.0.1', port: 0 })
    }
    return { rho, harvestedTokens, urls }
  })

  // The investigator suspects the harvesting accounts (by their traffic) and, to keep the test honest, as many
  // innocent customers; replay asks those accounts' logged prompts.
  const suspected = [...harvesters, ...customers.slice(0, harvesters.length)]
  const scans = await step(`keyed replay: probing both suspects with the logged prompts of ${suspected.length} suspected accounts, scored per serving key`, async () => {
    const out = {}
    for (const name of ['student', 'control']) {
      await cli(['probe', '--endpoint', student.urls[name], '--format', 'openai', '--model', `${name}-2`, '--replay', join(dir, 'serving.log'), '--select', `account=${suspected.join(',')}`,
        '--out', join(dir, `${name}-replay.jsonl`), '--max-tokens', '128', '--temperature', '0.5', '--repeat', String(a['replay-repeat']), '--concurrency', '1', '--api-key-env', 'SUSPECT_KEY'], { env: { SUSPECT_KEY: 'sk-investigator' } })
      const r = JSON.parse((await cli(['scan', join(dir, `${name}-replay.jsonl`), '--schedule', join(dir, 'provider.schedule'), '--schedule-public', join(dir, 'provider.schedule.json'), '--log', join(dir, 'serving.log'), '--log-filter', '--every-served-key', '--alpha', '0.01', '--json'])).out)
      out[name] = { log10P: r.log10P, pValue: r.pValue, tokensScored: r.tokensScored, detected: r.detected, cohortsFlagged: r.cohortsFlagged, samples: r.input.texts }
      log(`      ${name.padEnd(8)} p = ${r.pValue.toExponential(2)} (log10 p = ${r.log10P.toFixed(2)}, ${r.tokensScored} tokens scored); cohorts flagged (Holm, α = 0.01): ${r.cohortsFlagged.join(', ') || 'none'}\n`)
    }
    const s = out.student
    const falseCohorts = s.cohortsFlagged.filter((c) => !traffic.harvestingCohorts.includes(c))
    const named = s.cohortsFlagged.filter((c) => traffic.harvestingCohorts.includes(c))
    const reached =
      s.detected && named.length > 0
        ? `the student is detected and harvesting cohort${named.length === 1 ? '' : 's'} ${named.join(', ')} named${falseCohorts.length ? `; cohorts ${falseCohorts.join(', ')} flagged falsely` : ', none falsely'}`
        : `at ρ = ${(100 * student.rho).toFixed(1)} % this n-gram student does NOT reach significance at α = 0.01 (global log10 p = ${s.log10P.toFixed(2)}${named.length ? `; cohorts ${named.join(', ')} flagged` : ', no harvesting cohort named'}) from ${student.harvestedTokens} harvested tokens (docs/results.md §4)`
    log(`      ${reached}\n`)
    return { ...out, falseCohorts, reached }
  })

  const report = await step('sealing the attribution section: tokenmark report --schedule --log --log-filter --every-served-key (signed bundle)', async () => {
    await cli(['keygen', '--signing', '--out', join(dir, 'investigator.key')])
    // The body's main test needs one watermark key: the provider's static key file from step 1 (not the schedule's).
    const r = await cli(['report', join(dir, 'student-replay.jsonl'), '--key', join(OUT, 'provider.tmkey'), '--signing-key', join(dir, 'investigator.key'), '--out', join(dir, 'report-attribution.html'), '--alpha', '0.01',
      '--schedule', join(dir, 'provider.schedule'), '--schedule-public', join(dir, 'provider.schedule.json'), '--log', join(dir, 'serving.log'), '--log-filter', '--every-served-key', '--log-signature', join(dir, 'log-head.json'), '--log-public-key', join(dir, 'provider-signing.key.pub')])
    log(`      ${r.out.split('\n').find((l) => l.includes('schedule')) ?? ''}\n`)
    return { report: join(dir, 'report-attribution.html'), bundle: join(dir, 'report-attribution.tmev') }
  })

  return {
    accounts: customers.length + harvesters.length,
    clusters: clusters.length,
    harvestingAccounts: harvesters.length,
    harvestingCohorts: traffic.harvestingCohorts,
    logRecords: traffic.records.length,
    rho: student.rho,
    harvestedTokens: student.harvestedTokens,
    suspectedAccounts: suspected.length,
    student: scans.student,
    control: scans.control,
    falseCohorts: scans.falseCohorts,
    reached: scans.reached,
    ...report,
  }
}

try {
  await main()
} catch (e) {
  process.stderr.write(`\ndemo failed: ${e.message}\n`)
  process.exitCode = 1
} finally {
  for (const close of closers.reverse()) await close().catch(() => {})
}
