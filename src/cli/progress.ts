/**
 * A progress bar for long CLI runs (rewrap, audit verify). On a terminal it
 * redraws one line; otherwise it prints a line at most every 10 % so logs of
 * scripted runs stay short. Written here: a few lines, no dependency needed.
 */

export class ProgressBar {
  private lastPct = -1;
  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly label: string,
  ) {}

  update(done: number, total: number, suffix = ""): void {
    const pct = total === 0 ? 100 : Math.min(100, Math.floor((done / total) * 100));
    if (this.out.isTTY) {
      const width = Math.max(10, Math.min(40, (this.out.columns ?? 80) - this.label.length - 30));
      const filled = Math.round((pct / 100) * width);
      this.out.write(`\r${this.label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(pct).padStart(3)}% ${done}/${total} ${suffix}`);
    } else if (pct >= this.lastPct + 10 || (pct === 100 && this.lastPct !== 100)) {
      this.out.write(`${this.label}: ${pct}% (${done}/${total})${suffix ? ` ${suffix}` : ""}\n`);
    } else return;
    this.lastPct = pct;
  }

  finish(): void {
    if (this.out.isTTY) this.out.write("\n");
  }
}
