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
 * node scripts/demo-distillation.mjs [--out DIR] [--harvest N] [--rho R] [--probe N] [--quiet]
 * Needs a build first (`npm run build`). Everything it writes is in DIR, named at the end.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { generateKey, getTokenizer } from '../packages/core/dist/index.js'
import { openBundle } from '../packages/evidence/dist/index.js'
import { NGramModel, encodeCorpus, prompts, saveModelFile, trainReferenceModel } from '../packages/lab/dist/index.js'
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
  log(`[${++stepNo}/9] ${label} …${a.quiet ? '' : '\n'}`)
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

  const summary = {
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
  log(`\nDone in ${summary.seconds.toFixed(1)} s. Everything is in ${OUT}:\n  report   ${reports.student.report}\n  bundle   ${reports.student.bundle} (verify: npm run tokenmark -- verify ${reports.student.bundle} --public-key ${join(OUT, 'signing.key.pub')} --key ${join(OUT, 'provider.tmkey')})\n  control  ${reports.control.report}\n  summary  ${join(OUT, 'summary.json')}\n`)
  if (a.quiet) process.stdout.write(OUT + '\n')
}

try {
  await main()
} catch (e) {
  process.stderr.write(`\ndemo failed: ${e.message}\n`)
  process.exitCode = 1
} finally {
  for (const close of closers.reverse()) await close().catch(() => {})
}
