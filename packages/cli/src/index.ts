export { buildProgram } from './program.js'
export { CliError } from './errors.js'
