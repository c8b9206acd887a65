/** A progress bar on stderr: redrawn in place on a terminal, a line per tenth of the work otherwise. */
export class Progress {
  private shownTenth = -1
  private readonly start = Date.now()
  private readonly tty: boolean
  retries = 0

  constructor(
    private readonly total: number,
    private done: number,
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = stream.isTTY === true
  }

  tick(): void {
    this.done++
    this.draw()
  }

  /** A message on its own line (a retry, a warning), the bar redrawn below it. */
  note(msg: string): void {
    this.stream.write(`${this.tty ? '\r\x1b[K' : ''}tokenmark: ${msg}\n`)
    if (this.tty) this.draw()
  }

  draw(): void {
    const frac = this.total === 0 ? 1 : this.done / this.total
    if (this.tty) {
      const width = 28
      const full = Math.round(frac * width)
      const rate = this.done / Math.max(0.001, (Date.now() - this.start) / 1000)
      this.stream.write(`\r\x1b[K${this.label} [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${this.done}/${this.total} ${rate.toFixed(1)}/s${this.retries ? `, ${this.retries} retries` : ''}`)
    } else {
      const tenth = Math.floor(frac * 10)
      if (tenth > this.shownTenth) {
        this.shownTenth = tenth
        this.stream.write(`${this.label}: ${this.done}/${this.total}\n`)
      }
    }
  }

  end(): void {
    if (this.tty) this.stream.write('\n')
  }
}
