/**
 * The example binaries as a provider first runs them (issue 15): `--help` answers, a missing key is an error
 * (never a fresh key created silently), and `--new-key` writes the key outside the working tree, mode 0600.
 * Spawns the built dist (`npm test` builds first).
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, test } from 'vitest'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const PROVIDER = join(ROOT, 'examples/provider-api/dist/main.js')
const SUSPECT = join(ROOT, 'examples/suspect-api/dist/main.js')
const home = mkdtempSync(join(tmpdir(), 'tokenmark-provider-home-'))
const work = mkdtempSync(join(tmpdir(), 'tokenmark-provider-cwd-'))
afterAll(() => {
  rmSync(home, { recursive: true, force: true })
  rmSync(work, { recursive: true, force: true })
})
const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: '' }
const run = (bin: string, args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: work, env, encoding: 'utf8' })

describe('example binaries', () => {
  test.each([PROVIDER, SUSPECT])('%s --help prints its usage and exits 0', (bin) => {
    const r = run(bin, ['--help'])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^usage: (provider|suspect)-api /)
    expect(r.stderr).toBe('')
  })

  test('an unknown option is one line on stderr, exit 2', () => {
    const r = run(PROVIDER, ['--bogus'])
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/^provider-api: Unknown option '--bogus' \(see --help\)\n$/)
  })

  test('without a key the provider refuses to start and creates nothing', () => {
    const r = run(PROVIDER, ['--port', '0'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(`no watermark key at ${join(home, '.config/tokenmark/provider.tmkey')}`)
    expect(r.stderr).toContain('--new-key')
    expect(existsSync(join(home, '.config'))).toBe(false)
    expect(readdirSync(work)).toEqual([])
  })

  test('--new-key writes the key under ~/.config (0600), not in the working folder; a second --new-key refuses', async () => {
    const child = spawn(process.execPath, [PROVIDER, '--new-key', '--port', '0'], { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d) => {
        err += d
        if (err.includes('provider API on')) resolve()
      })
      child.on('close', () => reject(new Error(`provider exited: ${err}`)))
    })
    child.kill('SIGTERM')
    const keyFile = join(home, '.config/tokenmark/provider.tmkey')
    expect(err).toMatch(/created watermark key tmk_[0-9a-f]{16} → /)
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)
    expect(readdirSync(work)).toEqual([])
    const again = run(PROVIDER, ['--new-key', '--port', '0'])
    expect(again.status).toBe(2)
    expect(again.stderr).toContain('exists')
  })
})
