import { Writable } from 'node:stream';

/**
 * Owns stderr when it is a terminal: log lines and the live progress line share it, so every write
 * first clears the progress line and redraws it afterwards. Off a terminal it is a plain pass-through.
 */
export class TerminalWriter extends Writable {
  private statusLine = '';
  readonly isTTY: boolean;

  constructor(private readonly target: NodeJS.WriteStream = process.stderr) {
    super();
    this.isTTY = Boolean(target.isTTY);
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.isTTY && this.statusLine) {
      this.target.write(`\r\x1b[2K${chunk.toString()}${this.statusLine}`, callback);
    } else {
      this.target.write(chunk, callback);
    }
  }

  /** Replaces the live status line (terminal only). An empty string removes it. */
  setStatus(line: string): void {
    if (!this.isTTY) return;
    const width = this.target.columns ?? 120;
    const clipped = line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line;
    this.statusLine = clipped;
    this.target.write(`\r\x1b[2K${clipped}`);
  }

  /** Leaves the last status on screen and moves below it. */
  finishStatus(): void {
    if (!this.isTTY || !this.statusLine) return;
    this.target.write('\n');
    this.statusLine = '';
  }
}

export const stderrTerminal = new TerminalWriter();
