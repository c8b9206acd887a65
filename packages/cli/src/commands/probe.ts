/**
 * `tokenmark probe --endpoint URL --format openai|anthropic --model NAME (--prompts FILE.jsonl | --replay LOG [--select K=V…]) --out FILE.jsonl
 *  [--api-key-env VAR] [--concurrency N] [--max-samples N] [--max-tokens N] [--stream]
 *  [--case ID --server URL --token-env VAR]`: collects a suspect model's answers to prompts, for a
 * radioactivity test. The output is append-only JSON lines (`id, prompt, text, model, endpoint, time,
 * requestId`, and with --replay the serving log record's `seq, keyId`); re-running the same command continues where it stopped and never asks a prompt twice.
 * Ctrl-C stops it with only complete lines in the file. With --case, samples also go to a server case.
 */
import type { Command } from 'commander'
import { DEFAULT_RETRY, PROBE_FORMATS } from '../probe/client.js'
import type { ProbeCliOptions } from '../impl/probe.js'

export function registerProbe(program: Command): void {
  program
    .command('probe')
    .description("collect a suspect API's answers to prompts (OpenAI or Anthropic format), resumably, into JSON lines and/or a server case")
    .requiredOption('--endpoint <url>', 'API base URL (http://host:port or .../v1)')
    .requiredOption('--format <f>', `wire format: ${PROBE_FORMATS.join(' or ')}`)
    .requiredOption('--model <name>', 'model name to request')
    .option('--prompts <file>', 'JSON lines with "prompt" (or "text") and an optional "id" (else the line number identifies it)')
    .option('--replay <log>', 'instead of --prompts: replay the prompts a serving log recorded (keyed replay); each answer keeps its record\'s seq and keyId')
    .option('--select <k=v>', 'with --replay: only records of cohort=C[,C…], epoch=E[,…] or account=A[,…] (repeatable; kinds combine with AND)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--out <file>', 'append-only JSON-lines output; re-running continues where it stopped')
    .option('--api-key-env <var>', 'environment variable holding the API key, required when named (default: OPENAI_API_KEY or ANTHROPIC_API_KEY when set; none sent otherwise)')
    .option('--concurrency <n>', 'requests in flight', '4')
    .option('--max-samples <n>', 'stop when the output holds this many samples (earlier runs included)')
    .option('--max-tokens <n>', 'max_tokens of each request', '128')
    .option('--repeat <n>', 'ask every prompt n times (fresh answers; ids of later rounds end in #2, #3 …); de-duplication keeps repeats from counting twice', '1')
    .option('--temperature <t>', 'sampling temperature of each request, in [0, 2] (default: the endpoint\'s); a cooler sample follows what a student memorised (docs/results.md §4)')
    .option('--stream', 'request streamed responses (server-sent events) and assemble them')
    .option('--retries <n>', 'retries per request on 429, 5xx and network errors', String(DEFAULT_RETRY.retries))
    .option('--timeout <seconds>', 'per-request timeout', '120')
    .option('--case <id>', 'also add every sample to this case of a tokenmark server')
    .option('--server <url>', 'the tokenmark server (with --case)')
    .option('--token-env <var>', 'environment variable holding the server API token (with --case)', 'TOKENMARK_TOKEN')
    .action(async (o: ProbeCliOptions) => {
      const { run } = await import('../impl/probe.js')
      return run(o)
    })
}
