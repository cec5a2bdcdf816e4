/**
 * A one-line live progress bar on stderr (only when stderr is a terminal; otherwise a line per
 * 10% so logs stay readable).
 */
export class ProgressBar {
  private lastDecile = -1;
  private readonly tty: boolean;
  constructor(private readonly total: number, private readonly write: (s: string) => void = (s) => process.stderr.write(s), tty = !!process.stderr.isTTY) {
    this.tty = tty;
  }

  update(done: number, label: string): void {
    const f = this.total > 0 ? Math.min(1, done / this.total) : 1;
    if (this.tty) {
      const width = 30;
      const fill = Math.round(f * width);
      this.write(`\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(f * 100).toFixed(0).padStart(3)}% ${label}`.padEnd(90));
      return;
    }
    const decile = Math.floor(f * 10);
    if (decile !== this.lastDecile) {
      this.lastDecile = decile;
      this.write(`bench: ${(f * 100).toFixed(0)}% ${label}\n`);
    }
  }

  done(): void {
    if (this.tty) this.write('\n');
  }
}
