// The idle lock: after `limit` seconds without input the screen locks; a warning shows
// `warn` seconds before, and any key or click extends (WCAG 2.2.1).

export type IdleState = { phase: "active" } | { phase: "warning"; remaining: number } | { phase: "locked" };

export class IdleClock {
  private last: number;
  constructor(
    private readonly limit: number,
    private readonly warn: number,
    now: number,
  ) {
    this.last = now;
  }

  /** Input happened. */
  touch(now: number): void {
    this.last = now;
  }

  /** Where the clock stands at `now` (seconds). */
  state(now: number): IdleState {
    const idle = now - this.last;
    if (idle >= this.limit) return { phase: "locked" };
    if (idle >= this.limit - this.warn) return { phase: "warning", remaining: this.limit - idle };
    return { phase: "active" };
  }
}
