/**
 * Politeness: requests to one host start at least `delayMs` apart, however many run at once.
 * Each caller reserves its slot synchronously, so concurrent callers queue in call order.
 */
export class HostPacer {
  private readonly nextStart = new Map<string, number>();

  constructor(private readonly delayMs: number) {}

  /** Waits for this host's next slot; `minDelayMs` raises the gap (a robots.txt Crawl-delay). */
  async wait(host: string, minDelayMs = 0): Promise<void> {
    const gap = Math.max(this.delayMs, minDelayMs);
    const now = Date.now();
    const start = Math.max(now, this.nextStart.get(host) ?? 0);
    this.nextStart.set(host, start + gap);
    if (start > now) await new Promise((resolve) => setTimeout(resolve, start - now));
  }
}
