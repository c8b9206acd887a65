/** Fixtures for the server tests: seeded keys, watermarked text made through core's public API. */
import { getTokenizer, keyFromSecret, seededRng, watermarkSampler, type WatermarkKey } from '@tokenmark/core'
import type { FastifyInstance } from 'fastify'
import { Writable } from 'node:stream'
import pg from 'pg'
import { afterAll } from 'vitest'
import { bootstrap, buildServer, type BuildServerOptions } from '@tokenmark/server'
// @ts-expect-error a plain .mjs script (the helper .ci/run uses too)
import { stopTestCluster, testDatabase } from '../../../scripts/pg-cluster.mjs'

/**
 * The store the server tests run on: SQLite unless TOKENMARK_TEST_STORE=postgres (vitest.config.ts runs
 * the server tests a second time so, as the project "server-pg"). On PostgreSQL each test file gets one
 * fresh database (scripts/pg-cluster.mjs: TOKENMARK_TEST_PG's cluster, or one started for this process;
 * under CI=true a missing PostgreSQL fails) and each test server a fresh schema in it, which is as
 * isolated as a fresh ":memory:" database and costs milliseconds.
 */
export const STORE_KIND: 'sqlite' | 'postgres' = process.env.TOKENMARK_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite'

// Registered while the importing test file is collected (a hook cannot be added from inside a test).
if (STORE_KIND === 'postgres') afterAll(() => stopTestCluster())

let fileDb: Promise<string | undefined> | undefined
let schemas = 0
/** A postgres:// URL to a fresh, empty schema (postgres runs), or undefined (SQLite runs, or no PostgreSQL outside CI). */
export async function freshPgUrl(): Promise<string | undefined> {
  if (STORE_KIND !== 'postgres') return undefined
  fileDb ??= (testDatabase() as Promise<{ url?: string }>).then((r) => r.url)
  const base = await fileDb
  if (base === undefined) return undefined
  const schema = `t${++schemas}`
  const c = new pg.Client({ connectionString: base })
  await c.connect()
  try {
    await c.query(`CREATE SCHEMA ${schema}`)
  } finally {
    await c.end()
  }
  const u = new URL(base)
  u.searchParams.set('options', `-c search_path=${schema}`)
  return u.toString()
}

export const MASTER = 'a'.repeat(64)

export function testKey(seed = 1, scheme = 'kgw'): WatermarkKey {
  return keyFromSecret(Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + seed * 31) & 255), { scheme })
}

const WORDS = (
  'the of and to in a is that for it as was with be by on not he this are or his from at which but have an they you were ' +
  'her she there been one all we their has would when if so no will more can out up into do than only other new some could time ' +
  'these two may first then any like my now over such our man me even most made after also did many before must through back years ' +
  'where much your way well down should because each just those people how too little state good very make world still own see men ' +
  'work long get here between both life being under never day same another know while last might us great old year off come since ' +
  'against go came right used take three sea ship whale boat water captain long deep white'
).split(' ')

let vocab: number[] | undefined
/** Token ids of common words that o200k_base encodes as one token with a leading space. */
function wordTokens(): number[] {
  if (!vocab) {
    const tk = getTokenizer('o200k_base')
    const set = new Set<number>()
    for (const w of WORDS) {
      const ids = tk.encode(' ' + w)
      if (ids.length === 1) set.add(ids[0])
    }
    vocab = [...set]
  }
  return vocab
}

/**
 * `n` words drawn by `key`'s watermark sampler from a flat distribution over common words (about
 * 4.9 nats of entropy per token), decoded to text. Re-encoding gives back the same ids because every
 * word is one space-prefixed token.
 */
export function watermarkedText(key: WatermarkKey, n: number, seed: number): string {
  const tk = getTokenizer('o200k_base')
  const words = wordTokens()
  const logits = new Float32Array(tk.vocabSize).fill(-1e9)
  const rng = seededRng(seed)
  for (const t of words) logits[t] = 0
  const sample = watermarkSampler(key, { temperature: 1 }, rng)
  const ids = new Uint32Array(n + 1)
  ids[0] = words[seed % words.length]
  for (let i = 1; i <= n; i++) ids[i] = sample(logits, ids.subarray(0, i))
  return tk.decode(ids.subarray(1))
}

/** Unwatermarked text over the same words (a seeded uniform draw). */
export function plainText(n: number, seed: number): string {
  const tk = getTokenizer('o200k_base')
  const words = wordTokens()
  const rng = seededRng(seed)
  const ids = Array.from({ length: n }, () => words[rng.nextU32() % words.length])
  return tk.decode(ids)
}

/** Collects log lines written by the server. */
export class LogCapture extends Writable {
  lines: string[] = []
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
    cb()
  }
  get text(): string {
    return this.lines.join('\n')
  }
}

export interface TestServer {
  app: FastifyInstance
  admin: string
  tenantId: string
  logs: LogCapture
}

/** A server on a fresh store of STORE_KIND (unless `opts` names its own db or store). */
export async function testServer(opts: BuildServerOptions = {}): Promise<TestServer> {
  const logs = new LogCapture()
  const db = opts.db === undefined && opts.store === undefined ? await freshPgUrl() : undefined
  const app = await buildServer({ masterSecret: MASTER, logStream: logs, logger: 'debug', ...(db !== undefined ? { db } : {}), ...opts })
  const boot = bootstrap(app, {})
  if (!boot?.adminToken) throw new Error('bootstrap did not create an admin token')
  return { app, admin: boot.adminToken, tenantId: boot.tenantId, logs }
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` }
}
