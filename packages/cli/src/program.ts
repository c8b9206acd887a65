import { Command } from 'commander'
import { CLI_VERSION } from './help-facts.js'
import { registerDemo } from './commands/demo.js'
import { registerDetect } from './commands/detect.js'
import { registerKeygen } from './commands/keygen.js'
import { registerReport } from './commands/report.js'
import { registerVerify } from './commands/verify.js'
import { registerServe } from './commands/serve.js'
import { registerGenerate } from './commands/generate.js'
import { registerScan } from './commands/scan.js'
import { registerLab } from './commands/lab.js'
import { registerEval } from './commands/eval.js'
import { registerProbe } from './commands/probe.js'
import { registerBench } from './commands/bench.js'
import { registerLog } from './commands/log.js'
import { registerMerge } from './commands/merge.js'
import { registerWorker } from './commands/worker.js'

/**
 * The `tokenmark` command tree; every command registers itself here. Registering is cheap: a command's
 * options and help are declared in commands/<name>.ts, and its action imports impl/<name>.ts only when it
 * runs, so `--help` and option errors load none of core, lab, evidence or server.
 */
export function buildProgram(): Command {
  const program = new Command()
  program
    .name('tokenmark')
    .description('statistical token-level watermarks for language-model output, and evidence from them')
    .version(CLI_VERSION)
    .exitOverride()
    .configureOutput({
      // commander errors become one line: "tokenmark: <message>"
      outputError: (str, write) => write(`tokenmark: ${str.replace(/^error: /, '').trim()}\n`),
    })
    .showSuggestionAfterError(true)
  registerKeygen(program)
  registerDemo(program)
  registerDetect(program)
  registerReport(program)
  registerVerify(program)
  registerServe(program)
  registerGenerate(program)
  registerScan(program)
  registerLab(program)
  registerEval(program)
  registerProbe(program)
  registerBench(program)
  registerLog(program)
  registerMerge(program)
  registerWorker(program)
  for (const c of program.commands) c.exitOverride().configureOutput(program.configureOutput())
  return program
}
