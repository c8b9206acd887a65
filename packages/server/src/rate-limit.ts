/**
 * The per-token rate limit: a fixed window per API token, counted by the authentication hook, so it runs
 * before the body is read and bodies that fail parsing or validation count too (issue 12), and a
 * throttled token is refused without its body being parsed. Unauthenticated requests never reach it
 * (they end with a cheap 401 first); health, readiness and the API document need no token and are not
 * limited.
 *
 * It replaces @fastify/rate-limit, whose hook is async (a keyGenerator await, a store callback wrapped in
 * a promise, three headers per reply): several promises and microtask turns on every request of a route
 * whose own work is a couple of hundred microseconds (issue 12's per-request CPU goal). The counting is
 * the same: `max` requests per token per window of `windowMs`, in this process's memory (each replica
 * counts its own), answered 429 E_RATE_LIMITED with Retry-After past it.
 */

interface Window {
  count: number
  resetAt: number
}

export class RateLimiter {
  readonly max: number
  readonly windowMs: number
  readonly #windows = new Map<string, Window>()

  constructor(max: number, windowMs: number) {
    this.max = max
    this.windowMs = windowMs
  }

  /** Counts one request of `key`: 0 while within the limit, else the seconds until its window ends (≥ 1). */
  hit(key: string, now = Date.now()): number {
    let w = this.#windows.get(key)
    if (w === undefined || now >= w.resetAt) {
      // Ended windows are dropped whenever the map has grown, so it holds about the tokens active in one window.
      if (w === undefined && this.#windows.size >= 4096) this.#sweep(now)
      w = { count: 0, resetAt: now + this.windowMs }
      this.#windows.set(key, w)
    }
    w.count++
    return w.count > this.max ? Math.max(1, Math.ceil((w.resetAt - now) / 1000)) : 0
  }

  #sweep(now: number): void {
    for (const [k, w] of this.#windows) if (now >= w.resetAt) this.#windows.delete(k)
  }
}

/** "1 minute", "30 seconds": the window as the 429 message names it. */
export function windowText(ms: number): string {
  if (ms % 60_000 === 0) return ms === 60_000 ? '1 minute' : `${ms / 60_000} minutes`
  const s = Math.max(1, Math.round(ms / 1000))
  return s === 1 ? '1 second' : `${s} seconds`
}
