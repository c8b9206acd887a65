/** The CLI's error: printed as one line `tokenmark: <message>`, exit code 2 for bad input. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message)
    this.name = 'CliError'
  }
}
