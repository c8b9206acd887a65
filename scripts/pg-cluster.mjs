#!/usr/bin/env node
/**
 * A throw-away PostgreSQL cluster for tests and CI: initdb + pg_ctl in a temporary folder, listening on
 * loopback only, trust authentication, no fsync (it is deleted afterwards). The one helper that every
 * test needing PostgreSQL and .ci/run use.
 *
 *   node scripts/pg-cluster.mjs start    prints `<url> <dir>` and leaves the cluster running
 *   node scripts/pg-cluster.mjs stop DIR stops it and removes DIR
 *
 * From code: `await testDatabase()` gives a fresh database URL (call `stopTestCluster()` in afterAll) — in the cluster named by
 * TOKENMARK_TEST_PG (a postgres:// URL to an admin database, as .ci/run exports) or in a cluster it
 * starts for this process. When the binaries are missing it returns { skip: reason } outside CI and
 * throws under CI=true: CI must never skip these tests silently.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The newest installed PostgreSQL's bin folder (Debian puts it under /usr/lib/postgresql/N/bin), or undefined. */
export function postgresBin() {
  if (process.env.TOKENMARK_PG_BIN) return process.env.TOKENMARK_PG_BIN
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
  return versions.length > 0 ? join(root, versions[0], 'bin') : undefined
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

// initdb refuses to run as root: run the server binaries as the `postgres` user then.
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0

function run(bin, args) {
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args]
  const r = spawnSync(cmd, argv, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${bin.split('/').pop()} failed: ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' ')}`)
  return r.stdout
}

/**
 * Starts a cluster; returns { url, dir, stop() }. url names the `postgres` database as user `postgres`.
 * `durable: true` keeps PostgreSQL's default fsync and synchronous commit (benchmarks compare it with
 * SQLite at synchronous=FULL); tests run without them.
 */
export async function startCluster({ durable = false } = {}) {
  const bin = postgresBin()
  if (!bin) throw new Error('PostgreSQL binaries not found (apt-get install postgresql)')
  const dir = mkdtempSync(join(tmpdir(), 'tokenmark-pg-'))
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }))
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }))
    chownSync(dir, uid, gid)
  }
  const data = join(dir, 'data')
  run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'])
  const port = await freePort()
  const opts = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} ${durable ? '' : '-c fsync=off -c synchronous_commit=off -c full_page_writes=off '}-c max_connections=200`
  run(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-o', opts, '-w', '-t', '60', 'start'])
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  return { url, dir, stop: () => stopCluster(dir) }
}

export function stopCluster(dir) {
  const bin = postgresBin()
  try {
    if (bin) run(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop'])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

let own // this process's cluster, started on first use and stopped at exit
let counter = 0

/**
 * A fresh, empty database for one test file: { url } — or { skip: reason } when PostgreSQL is not
 * installed and this is not CI.
 */
export async function testDatabase() {
  let admin = process.env.TOKENMARK_TEST_PG
  if (!admin) {
    if (!postgresBin()) {
      const reason = 'PostgreSQL binaries not found (apt-get install postgresql): skipping PostgreSQL tests'
      if (process.env.CI === 'true') throw new Error(`${reason} is not allowed under CI`)
      console.warn(`\n*** ${reason} ***\n`)
      return { skip: reason }
    }
    if (!own) {
      own = await startCluster()
      process.once('exit', () => stopTestCluster())
    }
    admin = own.url
  }
  const name = `tm_${process.pid}_${Date.now().toString(36)}_${counter++}`
  const a = new URL(admin)
  const bin = postgresBin()
  if (!bin) throw new Error('PostgreSQL binaries not found (createdb)')
  const r = spawnSync(join(bin, 'createdb'), ['-h', a.hostname, '-p', a.port || '5432', '-U', decodeURIComponent(a.username || 'postgres'), name], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`createdb failed: ${r.stderr.trim()}`)
  const u = new URL(admin)
  u.pathname = `/${name}`
  return { url: u.toString() }
}

/** Stops the cluster testDatabase started for this process, if any (call it in afterAll: test workers may not see 'exit'). */
export function stopTestCluster() {
  if (own) {
    const dir = own.dir
    own = undefined
    stopCluster(dir)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [cmd, dir] = process.argv.slice(2)
  if (cmd === 'start') {
    const c = await startCluster()
    process.stdout.write(`${c.url} ${c.dir}\n`)
  } else if (cmd === 'stop' && dir) stopCluster(dir)
  else {
    process.stderr.write('usage: pg-cluster.mjs start | stop DIR\n')
    process.exit(2)
  }
}
