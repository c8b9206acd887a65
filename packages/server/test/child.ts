/** Runs the BUILT server (dist/bin.js) as a child process, as a user or a supervisor would. */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'

export const BIN = resolve(import.meta.dirname, '../dist/bin.js')
export const CLI = resolve(import.meta.dirname, '../../cli/dist/main.js')

export interface Child {
  proc: ChildProcess
  url: string
  stdout: () => string
  stderr: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Starts `node <script> ...args` and waits for its {"listening": url} line (or for `urlFrom` to match). */
export async function startChild(args: string[], env: NodeJS.ProcessEnv, script = BIN): Promise<Child> {
  if (!existsSync(script)) throw new Error(`${script} is missing: build first (node_modules/.bin/tsc -b)`)
  const proc = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.on('exit', (code, signal) => res({ code, signal })))
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`server did not start in 30 s\n${out}\n${err}`)), 30_000)
    const look = () => {
      const m = /\{"listening":"([^"]+)"\}/.exec(out) ?? /listening on (\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        res(m[1])
      }
    }
    proc.stdout!.on('data', look)
    void exited.then(() => {
      clearTimeout(timer)
      rej(new Error(`server exited before listening\n${out}\n${err}`))
    })
  })
  return { proc, url, stdout: () => out, stderr: () => err, exited }
}
