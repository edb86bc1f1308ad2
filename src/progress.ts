/**
 * Progress for long command-line operations (fetching the embedded database, seeding the demo,
 * building an archive): a redrawn bar on a terminal, a few plain lines otherwise, so logs in CI and
 * files stay readable.
 */

/** Where progress is written: standard error by default, so standard output stays the result. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** What is being done, e.g. "Fetching the embedded database". */
  label: string;
  /** The amount of work, in `unit`s (bytes or steps); 0 when unknown. */
  total: number;
  unit: 'bytes' | 'steps';
  stream?: ProgressStream;
  /** Overrides the terminal detection (tests). */
  tty?: boolean;
  /** Without a terminal: `lines` prints one line per item, `quiet` only the final line, `silent` nothing. */
  plain?: 'lines' | 'quiet' | 'silent';
}

export interface Progress {
  /** `done` more units were completed, while working on `item`. */
  advance(done: number, item?: string): void;
  /** Marks an item complete (a line of its own without a terminal). */
  itemDone(item: string, detail?: string): void;
  /** Clears the bar and prints the closing line. */
  finish(summary: string): void;
}

/** `1.2 MB`, `340 kB`, `12 B`: decimal units, as download sizes are usually shown. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(bytes < 10_000 ? 1 : 0)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

const BAR_WIDTH = 24;
/** Redraws at most this often: a terminal repaint per network chunk costs more than the download. */
const REDRAW_MS = 80;

/** Creates a progress display for `options.total` units of work. */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? stream.isTTY === true;
  const plain = options.plain ?? 'lines';
  let done = 0;
  let current = '';
  let lastDraw = 0;
  let drawn = false;

  const amount = (n: number) => (options.unit === 'bytes' ? formatBytes(n) : String(n));
  const draw = (force = false): void => {
    const now = Date.now();
    if (!force && now - lastDraw < REDRAW_MS) return;
    lastDraw = now;
    const ratio = options.total > 0 ? Math.min(1, done / options.total) : 0;
    const filled = Math.round(ratio * BAR_WIDTH);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
    const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
    let line = `${options.label} ${bar} ${pct} ${amount(done)} / ${amount(options.total)}${current ? `  ${current}` : ''}`;
    const width = stream.columns ?? 100;
    if (line.length > width - 1) line = line.slice(0, width - 1);
    stream.write(`\r\u001b[2K${line}`);
    drawn = true;
  };

  if (!tty && plain !== 'silent') stream.write(`${options.label}: ${amount(options.total)}${options.unit === 'steps' ? ' steps' : ''}…\n`);
  return {
    advance(n, item) {
      done += n;
      if (item !== undefined) current = item;
      if (tty) draw();
    },
    itemDone(item, detail) {
      if (tty) draw(true);
      else if (plain === 'lines') stream.write(`  ${item}${detail ? ` (${detail})` : ''}\n`);
    },
    finish(summary) {
      if (tty) {
        if (drawn) stream.write('\r\u001b[2K');
        stream.write(`${summary}\n`);
      } else if (plain !== 'silent') {
        stream.write(`${summary}\n`);
      }
    },
  };
}
