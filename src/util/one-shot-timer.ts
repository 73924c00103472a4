/**
 * One pending call at most: `start(ms)` (re)arms it, `cancel()` disarms it. The timer never
 * keeps the process alive (the node's sockets do), which is what every background
 * retry, debounce and backoff in a peer wants.
 */
export class OneShotTimer {
  private timer: NodeJS.Timeout | null = null

  constructor (private readonly fire: () => void) {}

  get pending (): boolean {
    return this.timer != null
  }

  start (delayMs: number): void {
    this.cancel()
    this.timer = setTimeout(() => {
      this.timer = null
      this.fire()
    }, delayMs)
    this.timer.unref()
  }

  cancel (): void {
    if (this.timer != null) {
      clearTimeout(this.timer)
      this.timer = null
    }
  }
}
