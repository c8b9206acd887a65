/** Files, stdin and numbers as commands read them. Imports nothing heavy, so any module may use it. */
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs'
import { CliError } from './errors.js'

/** Reads a whole file, or stdin for `-` / no path. */
export function readInput(path: string | undefined): string {
  try {
    return readFileSync(path === undefined || path === '-' ? 0 : path, 'utf8')
  } catch (e) {
    throw new CliError(`cannot read ${path ?? 'stdin'}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
}

/** A named file's text, or a one-line CliError saying which file could not be read and why. */
export function readFileText(path: string, what: string): string {
  return readNamed(path, what, 'utf8')
}

/** A named file's bytes (`-` is stdin when `stdin`), or a one-line CliError like readFileText's. */
export function readFileBytes(path: string, what: string, stdin = false): Uint8Array {
  return new Uint8Array(readNamed(stdin && path === '-' ? 0 : path, what))
}

function readNamed(path: string | 0, what: string): Buffer
function readNamed(path: string | 0, what: string, encoding: 'utf8'): string
function readNamed(path: string | 0, what: string, encoding?: 'utf8'): Buffer | string {
  try {
    return readFileSync(path, encoding)
  } catch (e) {
    throw cannotRead(what, path === 0 ? '-' : path, e)
  }
}

/** The one-line error for a file that could not be opened or read (`what`: e.g. "corpus file"). */
export function cannotRead(what: string, path: string, e: unknown): CliError {
  return new CliError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`)
}

/**
 * `parse()` of the file at `path`; an error of `errorType` (the parsing package's typed error) becomes a
 * one-line CliError naming the file. Any other error passes through.
 */
export function parseFile<T>(path: string, parse: () => T, errorType: abstract new (...args: never[]) => Error): T {
  try {
    return parse()
  } catch (e) {
    if (e instanceof errorType) throw new CliError(`${path}: ${e.message}`)
    throw e
  }
}

/** Writes a secret-bearing file with mode 0600, refusing to overwrite unless `force`. */
export function writeSecretFile(path: string, text: string, force = false): void {
  if (!force && existsSync(path)) throw new CliError(`${path} exists; pass --force to overwrite it`)
  let fd: number
  try {
    fd = openSync(path, force ? 'w' : 'wx', 0o600)
  } catch (e) {
    throw new CliError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  try {
    writeSync(fd, text)
  } finally {
    closeSync(fd)
  }
}

export function parseNumber(name: string, value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n)) throw new CliError(`${name} must be a number, got "${value.slice(0, 40)}"`)
  return n
}
