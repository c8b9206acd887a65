/**
 * Sharded scans through the built binary: `scan --shard i/S --out` + `merge` by hand, and `scan --shards S
 * --db` with `tokenmark worker` processes on a real, throw-away PostgreSQL (scripts/pg-cluster.mjs). Both
 * must print what a local scan prints, to the last digit.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { getTokenizer, parseKeyFile, seededRng, watermarkSampler } from '@tokenmark/core'
import { generate, trainReferenceModel } from '@tokenmark/lab'
// @ts-expect-error a plain .mjs script (the helper .ci/run uses too)
import { stopTestCluster, testDatabase } from '../../../scripts/pg-cluster.mjs'

const BIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tokenmark-shards-'))
const env = { ...process.env, TOKENMARK_CACHE: join(dir, 'cache') }

function tm(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 170_000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

let keyFile: string
let secret: string
const corpus = join(dir, 'corpus.jsonl')
const prompts = join(dir, 'prompts.jsonl')

beforeAll(() => {
  keyFile = join(dir, 'k.tmkey')
  expect(tm(['keygen', '--scheme', 'gumbel', '--out', keyFile]).code).toBe(0)
  secret = JSON.parse(readFileSync(keyFile, 'utf8')).secret
  const tk = getTokenizer('o200k_base')
  const model = trainReferenceModel(tk)
  const key = parseKeyFile(readFileSync(keyFile, 'utf8'))
  const lines: string[] = []
  const ps: string[] = []
  for (let i = 0; i < 12; i++) {
    const prompt = `The whale and the ship, part ${i}.`
    ps.push(JSON.stringify({ id: i, prompt }))
    // Marked and unmarked texts, and repeats: duplicates, exclusions and every shard get work.
    const text = i % 3 === 2 ? 'Call me Ishmael. The whale and the ship sailed on.' : generate(model, tk, prompt, { maxTokens: 60, sampler: watermarkSampler(key, { topK: 50 }, seededRng(i)) }).text
    lines.push(JSON.stringify({ text }))
  }
  writeFileSync(corpus, lines.join('\n') + '\n')
  writeFileSync(prompts, ps.join('\n') + '\n')
}, 120_000)

function localScan(): Record<string, unknown> {
  const r = tm(['scan', '--key', keyFile, '--prompts', prompts, corpus, '--json'])
  expect(r.code).toBe(0)
  return JSON.parse(r.out)
}

describe('scan --shard i/S --out and tokenmark merge', () => {
  test('three parts merged by hand print the local scan result, with their hashes and Merkle root', () => {
    const parts = join(dir, 'parts')
    mkdirSync(parts)
    const hashes: string[] = []
    for (let i = 0; i < 3; i++) {
      const r = tm(['scan', '--key', keyFile, '--prompts', prompts, corpus, '--shard', `${i}/3`, '--out', parts, '--json'])
      expect(r.code).toBe(0)
      const j = JSON.parse(r.out)
      expect(j.path).toBe(join(parts, `${j.sha256}.tmacc`)) // a folder as --out: the part is named by its hash
      hashes.push(j.sha256)
    }
    const files = readdirSync(parts).map((f) => join(parts, f))
    const m = tm(['merge', '--key', keyFile, ...files, '--json'])
    expect(m.code).toBe(0)
    const { shards, ...result } = JSON.parse(m.out)
    // merge never saw the corpus files: everything but the description of how they were read is the same
    const { input, ...local } = localScan()
    expect(input).toMatchObject({ texts: expect.any(Number) })
    expect(result).toEqual(local)
    expect(result.tokensSkipped.duplicate).toBeGreaterThan(0)
    expect(result.detected).toBe(true)
    expect(shards.hashes).toEqual(hashes)
    expect(shards.merkleRoot).toMatch(/^[0-9a-f]{64}$/)
    expect(m.out + m.err).not.toContain(secret)

    const missing = tm(['merge', '--key', keyFile, ...files.slice(1)])
    expect(missing.code).toBe(2)
    expect(missing.err.trim().split('\n')).toHaveLength(1)
    expect(missing.err).toMatch(/^tokenmark: shard part missing: /)

    // A report made with the parts names them: the bundle records the Merkle root, verify checks it.
    const signing = join(dir, 'signer.key')
    expect(tm(['keygen', '--signing', '--out', signing]).code).toBe(0)
    const rep = tm(['report', '--key', keyFile, '--signing-key', signing, '--prompts', prompts, '--parts', ...files, '--out', join(dir, 'sharded.md'), corpus])
    expect(rep.err).not.toMatch(/^tokenmark: (?!.*scoring)/m)
    expect(rep.code).toBe(0)
    expect(rep.out).toContain(`sharded scan: 3 parts merged, Merkle root ${shards.merkleRoot}`)
    expect(readFileSync(join(dir, 'sharded.md'), 'utf8')).toContain(shards.merkleRoot)
    const ver = tm(['verify', join(dir, 'sharded.tmev'), '--public-key', `${signing}.pub`, '--key', keyFile])
    expect(ver.code).toBe(0)
    expect(ver.out).toMatch(new RegExp(`PASS  shards +3 shard parts with Merkle root ${shards.merkleRoot}`))
    const wrong = tm(['report', '--key', keyFile, '--signing-key', signing, '--parts', ...files, '--out', join(dir, 'wrong.md'), corpus]) // without the prompts the scan read
    expect(wrong.code).toBe(2)
    expect(wrong.err).toMatch(/^tokenmark: the shard parts are not a scan of these texts: .*corpus digests differ/m)

    // Parts of different scans (here: one read the corpus without its prompts) never add up.
    const alien = join(dir, 'alien.tmacc')
    expect(tm(['scan', '--key', keyFile, corpus, '--shard', '1/3', '--out', alien]).code).toBe(0)
    const mixed = tm(['merge', '--key', keyFile, join(parts, `${hashes[0]}.tmacc`), alien, join(parts, `${hashes[2]}.tmacc`)])
    expect(mixed.code).toBe(2)
    expect(mixed.err.trim().split('\n')).toHaveLength(1)
    expect(mixed.err).toMatch(/^tokenmark: shard 1\/3 is part of another scan: it read a different corpus/)
  })

  test('scan --workers 2 (threads of one process, the two phases) prints the local scan result and its parts', () => {
    const out = join(dir, 'thread-parts')
    const r = tm(['scan', '--key', keyFile, '--prompts', prompts, corpus, '--workers', '2', '--parts-out', out, '--json'])
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    const { shards, ...result } = JSON.parse(r.out)
    expect(result).toEqual(localScan())
    expect(shards.count).toBe(2)
    expect(readdirSync(out).sort()).toEqual(shards.hashes.map((h: string) => `${h}.tmacc`).sort())
    // the parts are ordinary parts: merge adds them up to the same result
    const m = tm(['merge', '--key', keyFile, ...readdirSync(out).map((f) => join(out, f)), '--json'])
    expect(JSON.parse(m.out).shards.merkleRoot).toBe(shards.merkleRoot)
  })

  test('bad sharding options are one line and exit 2', () => {
    for (const [args, re] of [
      [['--shard', '0/2'], /--shard i\/S and --out/],
      [['--shard', '2/2', '--out', join(dir, 'x.tmacc')], /shard index/],
      [['--shards', '2'], /--shards needs --db/],
      [['--shards', '2', '--db', 'postgres://127.0.0.1:1/x', '--no-dedup'], /need de-duplication/],
      [['--workers', '2', '--no-dedup'], /need de-duplication/],
      [['--workers', '2', '--shards', '2'], /use one of --workers/],
      [['--workers', '1.5'], /--workers must be an integer/],
      [['--parts-out', dir], /--parts-out goes with --shards or --workers/],
    ] as [string[], RegExp][]) {
      const r = tm(['scan', '--key', keyFile, corpus, ...args])
      expect(r.code).toBe(2)
      expect(r.err).toMatch(re)
      expect(r.err.trim().split('\n')).toHaveLength(1)
    }
    // An unreachable database: one line, and never the URL's password.
    const db = 'postgres://u:hunter2@127.0.0.1:1/x'
    for (const args of [
      ['scan', '--key', keyFile, corpus, '--shards', '2', '--db', db],
      ['worker', '--key', keyFile, '--db', db],
    ]) {
      const r = tm(args)
      expect(r.code).toBe(2)
      expect(r.err).toMatch(/^tokenmark: cannot open the scan database: /)
      expect(r.err.trim().split('\n')).toHaveLength(1)
      expect(r.err).not.toContain('hunter2')
    }
    const notPart = tm(['merge', '--key', keyFile, corpus])
    expect(notPart.code).toBe(2)
    expect(notPart.err).toMatch(/not a \.tmacc shard part/)
  })
})

describe('scan --shards S --db with tokenmark workers (PostgreSQL + pg-boss)', () => {
  const workers: ChildProcess[] = []
  const logs: string[] = []
  let db: { url?: string; skip?: string }

  beforeAll(async () => {
    db = await testDatabase()
  }, 120_000)

  afterAll(async () => {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.exitCode !== null || w.signalCode !== null) return resolve()
            w.once('exit', () => resolve())
            w.kill('SIGTERM')
          }),
      ),
    )
    stopTestCluster()
  }, 60_000)

  function startWorker(url: string): ChildProcess {
    const w = spawn(process.execPath, [BIN, 'worker', '--db', url, '--key', keyFile], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    const i = logs.push('') - 1
    w.stdout?.on('data', (d) => (logs[i] += d))
    w.stderr?.on('data', (d) => (logs[i] += d))
    workers.push(w)
    return w
  }

  function runScan(url: string, shards: number, extra: string[] = []) {
    return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const p = spawn(process.execPath, [BIN, 'scan', '--key', keyFile, '--prompts', prompts, corpus, '--shards', String(shards), '--db', url, '--json', ...extra], { env })
      let out = ''
      let err = ''
      p.stdout.on('data', (d) => (out += d))
      p.stderr.on('data', (d) => (err += d))
      p.on('exit', (code) => resolve({ code, out, err }))
    })
  }

  function checkSame(r: { code: number | null; out: string; err: string }, shards: number) {
    expect(r.err).not.toMatch(/^tokenmark: /m)
    expect(r.code).toBe(0)
    const { shards: s, ...result } = JSON.parse(r.out)
    expect(result).toEqual(localScan())
    expect(s.count).toBe(shards)
    expect(s.hashes).toHaveLength(shards)
    expect(s.merkleRoot).toMatch(/^[0-9a-f]{64}$/)
    for (const text of [r.out, r.err, ...logs]) expect(text).not.toContain(secret)
  }

  test('two workers, four shards (route by texts, reduce by shard): the same result as a local scan, each part stored with its hash', async (ctx) => {
    if (db.skip) return ctx.skip()
    const url = db.url as string
    startWorker(url)
    startWorker(url)
    const partsOut = join(dir, 'queued-parts')
    const r = await runScan(url, 4, ['--parts-out', partsOut])
    checkSame(r, 4)
    // the parts the queue merged, named by their SHA-256, ready for `report --parts`
    const hashes: string[] = JSON.parse(r.out).shards.hashes
    expect(readdirSync(partsOut).sort()).toEqual(hashes.map((h: string) => `${h}.tmacc`).sort())
    // and they are the parts `scan --shard i/S` writes by hand: a part is named by its contents (sorted tuples)
    for (let i = 0; i < 4; i++) {
      const one = tm(['scan', '--key', keyFile, '--prompts', prompts, corpus, '--shard', `${i}/4`, '--out', join(dir, `by-hand-${i}-of-4.tmacc`), '--json'])
      expect(JSON.parse(one.out).sha256).toBe(hashes[i])
    }
    expect(logs.join('')).toMatch(/route block 1 \(texts 0\.\.\d+\): \d+ tokens routed/)
    expect(logs.join('')).toMatch(/route block 0 \(texts 0\.\.0\): 0 tokens routed/) // the prompts no text took, last
    expect(logs.join('')).toMatch(/reduce \d\/4: \d+ tuples scored, part [0-9a-f]{64}/)
  }, 170_000)

  function queuedScan(url: string, args: string[], extraEnv: Record<string, string>) {
    return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const p = spawn(process.execPath, [BIN, 'scan', '--key', keyFile, ...args, '--shards', '2', '--db', url], { env: { ...env, ...extraEnv } })
      let out = ''
      let err = ''
      p.stdout.on('data', (d) => (out += d))
      p.stderr.on('data', (d) => (err += d))
      p.on('exit', (code) => resolve({ code, out, err }))
    })
  }

  // Blocks of ~1 KiB: a few lines each, so the corpus streams as many route jobs.
  const SMALL_BLOCKS = { TOKENMARK_SCAN_BLOCK_BYTES: '1024' }
  const streamedLines = () =>
    readFileSync(corpus, 'utf8')
      .trim()
      .split('\n')
      .flatMap((l, i) => [0, 1, 2].map((r) => JSON.stringify({ ...JSON.parse(l), id: `t${i}-${r}`, ...((i + r) % 5 === 0 ? { prompt: `The whale and the ship, part ${i}.` } : {}) })))

  test('the corpus streams into the database in many blocks, each routed as soon as it is stored: the same result as a local scan', async (ctx) => {
    if (db.skip) return ctx.skip()
    const url = db.url as string
    if (workers.length === 0) (startWorker(url), startWorker(url))
    const streamed = join(dir, 'streamed.jsonl')
    const streamedPrompts = join(dir, 'streamed-prompts.jsonl')
    writeFileSync(streamed, streamedLines().join('\n') + '\n')
    // ids that texts take (in corpus order) and one that none does: excluded everywhere, by block 0
    writeFileSync(streamedPrompts, [['t1-0', 'The whale and the ship, part 1.'], ['t4-2', 'Call me Ishmael.'], ['nobody', 'the quiet grey sea']].map(([id, prompt]) => JSON.stringify({ id, prompt })).join('\n') + '\n')
    const args = ['--prompts', streamedPrompts, streamed, '--json']
    const one = tm(['scan', '--key', keyFile, ...args])
    expect(one.code).toBe(0)
    const local = JSON.parse(one.out)
    expect(local.input).toMatchObject({ globalPrompts: 1 })
    const before = logs.join('').split('\n').length
    const r = await queuedScan(url, args, SMALL_BLOCKS)
    expect(r.err).not.toMatch(/^tokenmark: /m)
    expect(r.code).toBe(0)
    const { shards, ...result } = JSON.parse(r.out)
    expect(result).toEqual(local)
    expect(shards.count).toBe(2)
    const routed = logs.join('').split('\n').slice(before - 1).filter((l) => / route block \d+ /.test(l))
    expect(routed.length).toBeGreaterThan(8) // many blocks, and block 0 among them
    expect(routed.some((l) => / route block 0 \(texts 0\.\.0\)/.test(l))).toBe(true)
  }, 170_000)

  test('a bad line deep in a streamed corpus: scan\'s one-line error, and the scan begun is withdrawn', async (ctx) => {
    if (db.skip) return ctx.skip()
    const url = db.url as string
    const lines = streamedLines()
    lines[25] = '{"text": "cut off'
    const bad = join(dir, 'bad-streamed.jsonl')
    writeFileSync(bad, lines.join('\n') + '\n')
    const one = tm(['scan', '--key', keyFile, bad])
    expect(one.code).toBe(2)
    expect(one.err).toMatch(/bad-streamed\.jsonl:26: not valid JSON/)
    const { default: pg } = await import('pg')
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    try {
      const scans = async () => Number((await c.query('SELECT count(*) AS n FROM tokenmark_scan.scans')).rows[0].n)
      const n = await scans()
      const r = await queuedScan(url, [bad], SMALL_BLOCKS)
      expect(r.code).toBe(2)
      expect(r.err).toBe(one.err)
      expect(r.out).toBe('')
      expect(await scans()).toBe(n) // the blocks before the bad line were stored and queued, then withdrawn
    } finally {
      await c.end()
    }
  }, 170_000)

  test('a worker SIGKILLed while it holds a job loses nothing: the job expires and another worker runs it', async (ctx) => {
    if (db.skip) return ctx.skip()
    const url = db.url as string
    const { default: pg } = await import('pg')
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    try {
      // Only the doomed worker is free: stop the others' intake by starting the scan before new workers.
      for (const w of workers.splice(0)) w.kill('SIGTERM')
      await new Promise((r) => setTimeout(r, 1000))
      const doomed = startWorker(url)
      const scan = runScan(url, 3, ['--shard-timeout', '2'])
      // Freeze the doomed worker the moment it holds a job, check it has not stored the part, then kill it.
      let held: { id: string; data: { index: number; scanId: string; phase: string } } | undefined
      for (let i = 0; i < 600 && held === undefined; i++) {
        const { rows } = await c.query("SELECT id, data FROM pgboss.job WHERE state = 'active' AND name LIKE 'tokenmark-shard-%' LIMIT 1").catch(() => ({ rows: [] }))
        if (rows.length > 0) {
          doomed.kill('SIGSTOP')
          held = rows[0]
        } else await new Promise((r) => setTimeout(r, 20))
      }
      expect(held).toBeDefined()
      const h = held as { id: string; data: { index: number; scanId: string; phase: string } }
      const stored = await c.query(
        h.data.phase === 'route' ? 'SELECT 1 FROM tokenmark_scan.blocks WHERE scan_id = $1 AND block = $2' : 'SELECT 1 FROM tokenmark_scan.parts WHERE scan_id = $1 AND shard_index = $2',
        [h.data.scanId, h.data.index],
      )
      doomed.kill('SIGKILL')
      if (stored.rows.length === 0) {
        startWorker(url)
        startWorker(url)
        checkSame(await scan, 3)
        const { rows } = await c.query('SELECT retry_count FROM pgboss.job WHERE id = $1 UNION ALL SELECT retry_count FROM pgboss.archive WHERE id = $1', [h.id]).catch(() => c.query('SELECT retry_count FROM pgboss.job WHERE id = $1', [h.id]))
        expect(rows[0].retry_count).toBeGreaterThanOrEqual(1) // the held job ran again elsewhere
      } else {
        // The worker finished the shard before it could be frozen: nothing to recover, the result must still be whole.
        startWorker(url)
        checkSame(await scan, 3)
      }
    } finally {
      await c.end()
    }
  }, 170_000)
})
