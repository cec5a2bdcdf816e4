/**
 * A live progress line for long runs: done/total rows, rows/s and the time left. Drawn on stderr
 * only when stderr is a terminal (`\r`-redrawn, at most every 100 ms); otherwise silent, so logs
 * and pipes stay clean.
 */
export class RowProgress {
  readonly #t0 = performance.now();
  #last = 0;
  #drawn = false;

  /**
   * @param total rows to do
   * @param write where the line goes (stderr)
   * @param tty draw only when true (the caller passes `process.stderr.isTTY`)
   */
  constructor(private readonly total: number, private readonly write: (s: string) => void, private readonly tty: boolean) {}

  /** Redraws the line for `done` rows (throttled; always drawn when done = total). */
  update(done: number): void {
    if (!this.tty) return;
    const now = performance.now();
    if (done < this.total && now - this.#last < 100) return;
    this.#last = now;
    this.#drawn = true;
    this.write(`\r${progressLine(done, this.total, (now - this.#t0) / 1000)}\x1b[K`);
  }

  /** Ends the line (a newline after the last draw). */
  done(): void {
    if (this.#drawn) this.write('\n');
  }
}

/** `[#####.....]  42% 4200/10000 rows  1234 rows/s  ETA 0:05` for `done` rows after `seconds`. */
export function progressLine(done: number, total: number, seconds: number): string {
  const f = total > 0 ? Math.min(1, done / total) : 1;
  const width = 24;
  const fill = Math.round(f * width);
  const rate = seconds > 0 ? done / seconds : 0;
  const eta = rate > 0 ? (total - done) / rate : NaN;
  return `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(f * 100).toFixed(0).padStart(3)}% ${done}/${total} rows  ${rate >= 100 ? rate.toFixed(0) : rate.toFixed(1)} rows/s  ETA ${clock(eta)}`;
}

function clock(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}
