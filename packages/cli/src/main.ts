#!/usr/bin/env node
import { CommanderError } from 'commander'
import { buildProgram } from './program.js'
import { CliError } from './errors.js'

// Output piped into `head` or a closed reader: stop quietly, as Unix tools do, instead of an EPIPE stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0)
  throw e
})

const program = buildProgram()
try {
  await program.parseAsync(process.argv)
} catch (e) {
  // core is imported here, not at the top, so that `--help` does not load it; a CodedError (core's, lab's,
  // evidence's, the server's: they all extend it) can only come from a command that has already loaded
  // core, so the import is then free
  if (e instanceof CommanderError) {
    // commander already printed its one-line message (reformatted in program.ts)
    process.exitCode = e.exitCode === 0 ? 0 : 2
  } else if (e instanceof CliError) {
    process.stderr.write(`tokenmark: ${e.message}\n`)
    process.exitCode = e.exitCode
  } else if (e instanceof (await import('@tokenmark/core')).CodedError) {
    process.stderr.write(`tokenmark: ${e.message}\n`)
    process.exitCode = 2
  } else {
    process.stderr.write(`tokenmark: internal error: ${(e as Error).message ?? String(e)}\n`)
    process.exitCode = 1
  }
}
