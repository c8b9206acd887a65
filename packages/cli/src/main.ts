#!/usr/bin/env node
import { TokenmarkError } from '@tokenmark/core'
import { CommanderError } from 'commander'
import { buildProgram } from './program.js'
import { CliError } from './errors.js'

const program = buildProgram()
try {
  await program.parseAsync(process.argv)
} catch (e) {
  if (e instanceof CommanderError) {
    // commander already printed its one-line message (reformatted in program.ts)
    process.exitCode = e.exitCode === 0 ? 0 : 2
  } else if (e instanceof CliError || e instanceof TokenmarkError) {
    process.stderr.write(`tokenmark: ${e.message}\n`)
    process.exitCode = e instanceof CliError ? e.exitCode : 2
  } else {
    process.stderr.write(`tokenmark: internal error: ${(e as Error).message ?? String(e)}\n`)
    process.exitCode = 1
  }
}
