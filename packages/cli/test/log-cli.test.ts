/** tokenmark log … driven as a user would: the built binary, real schedule and log files, exit codes. */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, test } from 'vitest'
import { ServingLog, getTokenizer, parseSchedule, seededRng, watermarkSampler } from '@tokenmark/core'
import { SigningKey, signLogHead } from '@tokenmark/evidence'

const BIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tokenmark-log-cli-'))

function tm(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: dir })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

let logText = ''
let secretText = ''

beforeAll(() => {
  const r = tm(['log', 'schedule', '--out', 's', '--cohorts', '4', '--epochs', '2', '--epoch-seconds', '3600', '--start', '2026-01-01T00:00:00Z', '--context', '2', '--canary', 'sus=mallory'])
  expect(r.code).toBe(0)
  secretText = readFileSync(join(dir, 's.schedule'), 'utf8')
  const schedule = parseSchedule(secretText, readFileSync(join(dir, 's.schedule.json'), 'utf8'))
  const log = new ServingLog({ scheduleId: schedule.scheduleId, created: '2026-01-01T00:00:00Z' })
  logText = log.headerLine()
  for (let i = 0; i < 12; i++) {
    const account = i % 4 === 0 ? 'mallory' : `user-${i % 5}`
    const time = new Date(Date.parse('2026-01-01T00:00:00Z') + i * 500_000)
    const ck = schedule.keyForAccount(account, time)
    logText += log.append({ time, account, epoch: ck.epoch, cohort: ck.cohort, keyId: ck.key.keyId, prompt: `Tell me about the whale, part ${i}.`, response: `The whale, part ${i}, rose slowly from the deep and blew a white spout.` }).line
  }
  writeFileSync(join(dir, 'serve.log'), logText)
  const signing = new SigningKey(Uint8Array.from({ length: 32 }, (_, i) => i + 1))
  writeFileSync(join(dir, 'head.json'), JSON.stringify(signLogHead(log.head(), signing)))
  writeFileSync(join(dir, 'signer.pub'), signing.toPublicKeyFile())
  writeFileSync(join(dir, 'other.pub'), new SigningKey(new Uint8Array(32).fill(7)).toPublicKeyFile())
}, 60_000)

describe('tokenmark log', () => {
  test('schedule writes the secret with mode 0600 and a public description without it', () => {
    expect(statSync(join(dir, 's.schedule')).mode & 0o777).toBe(0o600)
    const secret = JSON.parse(secretText).secret as string
    expect(readFileSync(join(dir, 's.schedule.json'), 'utf8')).not.toContain(secret)
    expect(tm(['log', 'schedule', '--out', 's']).code).toBe(2) // refuses to overwrite
  })

  test('verify checks the chain, the schedule and the signed head', () => {
    const r = tm(['log', 'verify', 'serve.log', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--signature', 'head.json', '--public-key', 'signer.pub', '--json'])
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out)
    expect(j).toMatchObject({ ok: true, records: 12, withText: 12, scheduleChecked: true, signature: { checked: true, valid: true, coversHead: true } })
    expect(r.out + r.err).not.toContain(JSON.parse(secretText).secret)
    const wrongSigner = tm(['log', 'verify', 'serve.log', '--signature', 'head.json', '--public-key', 'other.pub', '--json'])
    expect(wrongSigner.code).toBe(1)
    expect(JSON.parse(wrongSigner.out).signature.valid).toBe(false)
  })

  test('verify fails with exit 1 on an edited record and names its line', () => {
    const lines = logText.trimEnd().split('\n')
    lines[3] = lines[3].replace(/"account":"[^"]+"/, '"account":"someone-else"')
    writeFileSync(join(dir, 'edited.log'), lines.join('\n') + '\n')
    const r = tm(['log', 'verify', 'edited.log'])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/BROKEN at line 4/)
  })

  test('stats counts records per cohort and epoch; filter writes one emission filter per selected key', () => {
    const s = JSON.parse(tm(['log', 'stats', 'serve.log', '--json']).out)
    expect(s.records).toBe(12)
    expect(s.cohorts.find((c: { cohort: number }) => c.cohort === 4)).toMatchObject({ records: 3, accounts: 1 }) // the canary
    expect(s.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([0, 1])
    const f = tm(['log', 'filter', 'serve.log', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--cohort', '4', '--out', 'canary', '--json'])
    expect(f.code).toBe(0)
    const out = JSON.parse(f.out)
    expect(out.records).toBe(3)
    expect(out.filters.length).toBe(2) // the canary cohort in epochs 0 and 1
    for (const w of out.filters) expect(existsSync(join(dir, w.file))).toBe(true)
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmef')).length).toBe(2)
  })

  test('trace names the cohort and epoch of a leaked text and the accounts behind it; a human text gets "no key"', () => {
    const schedule = parseSchedule(secretText, readFileSync(join(dir, 's.schedule.json'), 'utf8'))
    const ck = schedule.keyForAccount('mallory', '2026-01-01T00:10:00Z')
    const tk = getTokenizer('o200k_base')
    const sample = watermarkSampler(ck.key, { topK: 40 }, seededRng(3))
    const rng = seededRng(4)
    const ids = [...tk.encode('The whale')]
    const vocab = Uint32Array.from({ length: 3000 }, (_, i) => 1000 + i) // ordinary word pieces
    for (let i = 0; i < 200; i++) {
      const logits = new Float32Array(tk.vocabSize).fill(-1e9)
      for (const v of vocab) logits[v] = 3 * rng.nextFloat()
      ids.push(sample(logits, Uint32Array.from(ids)))
    }
    writeFileSync(join(dir, 'leaked.txt'), tk.decode(Uint32Array.from(ids)))
    const r = tm(['log', 'trace', 'leaked.txt', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--log', 'serve.log', '--json'])
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out)
    expect(j.match).toMatchObject({ cohort: 4, epoch: 0, label: 'canary/sus' })
    expect(j.ringSize).toBe(10)
    expect(j.accounts).toEqual(['mallory'])
    writeFileSync(join(dir, 'human.txt'), 'Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world.')
    const h = JSON.parse(tm(['log', 'trace', 'human.txt', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--json']).out)
    expect(h.match).toBeNull()
  })

  test('bad input: one line on stderr, exit 2', () => {
    writeFileSync(join(dir, 'bad.log'), '{"format":"nope"}\n')
    for (const args of [['log', 'verify', 'bad.log'], ['log', 'verify', 'missing.log'], ['log', 'filter', 'serve.log', '--out', 'x'], ['log', 'stats', 'serve.log', '--cohort', 'x']]) {
      const r = tm(args)
      expect(r.code).toBe(2)
      expect(r.err.trim().split('\n')).toHaveLength(1)
      expect(r.err).toMatch(/^tokenmark: /)
    }
  })
})
