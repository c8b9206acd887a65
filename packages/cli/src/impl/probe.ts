/** What `tokenmark probe` does. Its options type lives here; commands/probe.ts declares the flags and loads this module only when it runs. */
import { setMaxListeners } from 'node:events'
import { CliError } from '../errors.js'
import { parseNumber } from '../io.js'
import { CaseSink } from '../probe/case-sink.js'
import { DEFAULT_RETRY, makeClient, PROBE_FORMATS, withRetries, type ProbeFormat } from '../probe/client.js'
import { openOutput, readPrompts, type ProbePrompt, type ProbeSample } from '../probe/files.js'
import { Progress } from '../probe/progress.js'

/** Options as commander parses them from the declaration below. */
export interface ProbeCliOptions {
  endpoint: string
  format: string
  model: string
  prompts?: string
  replay?: string
  select?: string[]
  out?: string
  apiKeyEnv?: string
  concurrency: string
  maxSamples?: string
  maxTokens: string
  temperature?: string
  repeat?: string
  stream?: boolean
  retries: string
  timeout: string
  case?: string
  server?: string
  tokenEnv?: string
}

function intOption(name: string, value: string, min: number, max: number): number {
  const n = parseNumber(name, value)
  if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`${name} must be a whole number in [${min}, ${max}], got ${value}`)
  return n
}

function env(name: string, what: string): string {
  const v = process.env[name]
  if (v === undefined || v === '') throw new CliError(`${what}: environment variable ${name} is not set`)
  return v
}

/**
 * Runs `f` with a signal of its own that aborts with `parent`. The SDKs add an abort listener to the signal of
 * each request and keep it for the client's life; on a shared signal 20 prompts made Node warn of a leak.
 */
async function perRequest<T>(parent: AbortSignal, f: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const child = new AbortController()
  const abort = () => child.abort(parent.reason)
  if (parent.aborted) abort()
  else parent.addEventListener('abort', abort, { once: true })
  try {
    return await f(child.signal)
  } finally {
    parent.removeEventListener('abort', abort)
  }
}

export async function run(o: ProbeCliOptions): Promise<void> {
  if (!(PROBE_FORMATS as readonly string[]).includes(o.format)) throw new CliError(`--format must be ${PROBE_FORMATS.join(' or ')}, got "${o.format.slice(0, 20)}"`)
  const format = o.format as ProbeFormat
  const concurrency = intOption('--concurrency', o.concurrency, 1, 64)
  const maxTokens = intOption('--max-tokens', o.maxTokens, 1, 100_000)
  const temperature = o.temperature === undefined ? undefined : parseNumber('--temperature', o.temperature)
  if (temperature !== undefined && !(temperature >= 0 && temperature <= 2)) throw new CliError('--temperature must be in [0, 2]')
  const retries = intOption('--retries', o.retries, 0, 100)
  const timeout = parseNumber('--timeout', o.timeout) * 1000
  if (!(timeout > 0)) throw new CliError('--timeout must be > 0')
  if (!o.out && !o.case) throw new CliError('give --out FILE, --case ID, or both: the samples need somewhere to go')
  if (o.case && !o.server) throw new CliError('--case needs --server URL')
  // A named --api-key-env must be set; the format's usual variable only when it is (a local or open
  // endpoint needs no key; one that does answers 401, reported with the variable to set).
  const keyEnv = o.apiKeyEnv ?? (format === 'openai' ? 'OPENAI_API_KEY' : 'ANTHROPIC_API_KEY')
  const apiKey = o.apiKeyEnv !== undefined ? env(keyEnv, 'the API key') : process.env[keyEnv] || undefined
  if ((o.prompts === undefined) === (o.replay === undefined)) throw new CliError('give --prompts FILE or --replay LOG (one of them)')
  if (o.select !== undefined && o.replay === undefined) throw new CliError('--select chooses records of --replay LOG; give --replay')
  let replay: { prompts: ProbePrompt[]; withoutText: number } | undefined
  if (o.replay !== undefined) {
    const { parseSelection, replayPrompts } = await import('../probe/replay.js')
    replay = replayPrompts(o.replay, parseSelection(o.select ?? []))
  }
  const once = replay?.prompts ?? readPrompts(o.prompts as string)
  // --repeat N: every prompt N times, round after round (so --max-samples cuts evenly); round 1 keeps the
  // prompt's id and later rounds add #2, #3 …, so raising N resumes a file made with a smaller one.
  const repeat = intOption('--repeat', o.repeat ?? '1', 1, 10_000)
  const prompts = Array.from({ length: repeat }, (_, r) => (r === 0 ? once : once.map((p) => ({ ...p, id: `${p.id}#${r + 1}` })))).flat()
  const ask = await makeClient({ format, endpoint: o.endpoint, apiKey, model: o.model, maxTokens, temperature, stream: o.stream === true, timeout })

  const out = o.out ? openOutput(o.out) : undefined
  // One file, one source: resuming into samples from another endpoint or model would mix two suspects.
  const other = out?.samples.find((s) => s.endpoint !== o.endpoint || s.model !== o.model)
  if (other) {
    out?.close()
    throw new CliError(
      `${o.out} holds samples from endpoint ${other.endpoint} model ${other.model}, not ${o.endpoint} model ${o.model}; resume with the same --endpoint and --model, or write to another --out`,
    )
  }
  const done = new Set(out?.samples.map((s) => s.id))
  const limit = o.maxSamples === undefined ? prompts.length : intOption('--max-samples', o.maxSamples, 0, Number.MAX_SAFE_INTEGER)
  const todo = prompts.filter((p) => !done.has(p.id)).slice(0, Math.max(0, limit - done.size))
  const total = Math.min(limit, done.size + todo.length)
  const progress = new Progress(total, Math.min(done.size, total), 'probe')
  const onRetry = (why: string, ms: number) => {
    progress.retries++
    progress.note(`${why}; retrying in ${(ms / 1000).toFixed(1)} s`)
  }
  const sink = o.case ? new CaseSink({ server: o.server!, caseId: o.case, token: env(o.tokenEnv ?? 'TOKENMARK_TOKEN', '--token-env'), onRetry }) : undefined

  const controller = new AbortController()
  // Every request in flight, retry sleep and case upload listens on this one signal; the SDKs add a listener
  // per request. Each request gets its own child signal (perRequest), so this signal holds a bounded number
  // at once (a few per worker), which is what its limit says — no MaxListenersExceededWarning on stderr.
  setMaxListeners(4 * concurrency + 8, controller.signal)
  let interrupted = false
  const onSigint = () => {
    interrupted = true
    controller.abort(new Error('interrupted'))
  }
  process.once('SIGINT', onSigint)
  if (done.size > 0) process.stderr.write(`tokenmark: resuming: ${done.size} samples already in ${o.out}, ${todo.length} to go\n`)
  progress.draw()

  let failure: unknown
  let added = 0
  try {
    // Samples of earlier runs first: the server drops the ones it already holds (idempotency keys).
    for (const s of out?.samples ?? []) await sink?.add(s, controller.signal)
    let next = 0
    const worker = async () => {
      while (next < todo.length && !controller.signal.aborted) {
        const p = todo[next++]
        const answer = await withRetries(() => perRequest(controller.signal, (signal) => ask(p.prompt, signal)), controller.signal, { ...DEFAULT_RETRY, retries }, onRetry)
        if (controller.signal.aborted) return
        const sample: ProbeSample = { id: p.id, prompt: p.prompt, text: answer.text, model: o.model, endpoint: o.endpoint, time: new Date().toISOString(), requestId: answer.requestId, ...(p.served ?? {}) }
        out?.append(sample)
        added++
        progress.tick()
        await sink?.add(sample, controller.signal)
      }
    }
    await Promise.all(
      Array.from({ length: Math.min(concurrency, todo.length) }, () =>
        worker().catch((e) => {
          if (!controller.signal.aborted) {
            failure = e
            controller.abort(e)
          }
        }),
      ),
    )
    if (!controller.signal.aborted) await sink?.flush(controller.signal)
  } catch (e) {
    if (!interrupted) failure ??= e
  } finally {
    process.removeListener('SIGINT', onSigint)
    out?.close()
    progress.end()
  }
  const where = o.out ? ` in ${o.out}` : ''
  if (failure !== undefined && !interrupted) {
    if (failure instanceof CliError) throw failure
    const status = (failure as { status?: unknown }).status
    if ((status === 401 || status === 403) && apiKey === undefined) {
      throw new CliError(`${o.endpoint} answered HTTP ${status}: it needs an API key; set ${keyEnv} (or name another variable with --api-key-env)`)
    }
    throw new CliError(`${o.endpoint}: ${(failure as Error).message}; ${done.size + added} samples${where}, re-run the same command to continue`)
  }
  if (interrupted) {
    process.stderr.write(`tokenmark: interrupted; ${done.size + added} samples${where} — re-run the same command to continue\n`)
    process.exitCode = 130
    return
  }
  const c = sink?.last
  process.stdout.write(
    `probed ${added} prompts (${done.size + added} samples${where})${progress.retries ? `, ${progress.retries} retries` : ''}\n` +
      (replay ? `  replay of ${o.replay}: ${replay.prompts.length} distinct served prompts selected${replay.withoutText ? `, ${replay.withoutText} records without their prompt text skipped` : ''}\n` : '') +
      (sink ? `  case ${o.case}: ${sink.sent} added, ${sink.duplicates} already there${c ? `; ${c.samples} samples, ${c.tokensScored} tokens scored, p = ${c.result.pValue.toPrecision(3)}` : ''}\n` : ''),
  )
}
