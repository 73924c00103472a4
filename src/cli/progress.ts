/**
 * The progress bar of `get` on a terminal (cli-progress, on stderr): bytes verified,
 * rate and ETA.
 */
import cliProgress from 'cli-progress'
import { formatBytes } from './output.js'

export class ProgressBar {
  private bar: cliProgress.SingleBar | null = null
  private readonly started = Date.now()

  constructor (private readonly label: string) {}

  static enabled (json: boolean): boolean {
    return !json && process.stderr.isTTY === true
  }

  update (bytes: number, total: number, providers: number): void {
    const seconds = Math.max((Date.now() - this.started) / 1000, 0.001)
    const payload = { rate: `${formatBytes(bytes / seconds)}/s`, done: formatBytes(bytes), size: formatBytes(total), providers }
    if (this.bar == null) {
      this.bar = new cliProgress.SingleBar({
        stream: process.stderr,
        format: `${this.label} {bar} {percentage}% | {done}/{size} | {rate} | ETA {eta_formatted} | {providers} provider(s)`,
        hideCursor: true,
        etaBuffer: 50
      }, cliProgress.Presets.shades_classic)
      this.bar.start(Math.max(total, 1), bytes, payload)
    }
    this.bar.update(total === 0 ? 1 : bytes, payload)
  }

  stop (): void {
    this.bar?.stop()
    this.bar = null
  }
}
