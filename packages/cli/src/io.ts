import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs'
import { getTokenizer, huggingFaceTokenizer, parseKeyFile, TokenmarkError, type Tokenizer, type WatermarkKey } from '@tokenmark/core'
import { CliError } from './errors.js'

/** Reads a whole file, or stdin for `-` / no path. */
export function readInput(path: string | undefined): string {
  try {
    return readFileSync(path === undefined || path === '-' ? 0 : path, 'utf8')
  } catch (e) {
    throw new CliError(`cannot read ${path ?? 'stdin'}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
}

export function loadKey(path: string): WatermarkKey {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new CliError(`cannot read key file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`)
  }
  try {
    return parseKeyFile(text)
  } catch (e) {
    if (e instanceof TokenmarkError) throw new CliError(`${path}: ${e.message}`)
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

/**
 * The tokenizer a command was asked for: a built-in name (`--tokenizer`) or a Hugging Face
 * `tokenizer.json` file (`--tokenizer-file`, named `huggingface:<fingerprint>`); undefined for the key's own.
 */
export function resolveTokenizer(name: string | undefined, file: string | undefined): Tokenizer | undefined {
  if (name !== undefined && file !== undefined) throw new CliError('use either --tokenizer or --tokenizer-file')
  try {
    if (file !== undefined) return huggingFaceTokenizer(readInput(file))
    return name === undefined ? undefined : getTokenizer(name)
  } catch (e) {
    if (e instanceof TokenmarkError) throw new CliError(e.message)
    throw e
  }
}
