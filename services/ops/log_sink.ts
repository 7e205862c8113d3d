/**
 * Where the logger's lines go by default: stdout (stderr for errors),
 * written off the event loop and bounded. A log reader that stops reading
 * (`deno task start | sleep 3600`, a stalled docker or journald driver)
 * fills the pipe; a synchronous write then blocked the whole process: every
 * request hung, `SIGTERM` went unheard. Here the lines wait in memory up to
 * a bound while one write is in flight on the runtime's blocking threads;
 * past the bound new lines are dropped and counted
 * (`log_lines_dropped_total`), and once a write goes through again one
 * `log.lines_dropped` warning says how many were lost.
 *
 * @module
 */

/** A stream lines go to: stdout, stderr, or a file or pipe opened. */
export interface Out {
  write(p: Uint8Array): Promise<number>;
  writeSync(p: Uint8Array): number;
}

/** Text handed to the writer, in the order it must be written. */
interface Chunk {
  out: Out;
  text: string;
  /** How many lines `text` holds, for the drop count. */
  lines: number;
}

/** Options of {@linkcode LogSink}. */
export interface LogSinkOptions {
  /**
   * The most text (UTF-16 code units) waiting to be written; a line past it
   * is dropped. @default {4194304} (4 MiB: ~18,000 request lines, a second
   * of a stall at full load)
   */
  maxPending?: number;
  /** How long a line waits for the others of its write, ms. @default {10} */
  flushMs?: number;
  /** Where stdout's lines go. @default {Deno.stdout} */
  stdout?: Out;
  /** Where errors go. @default {Deno.stderr} */
  stderr?: Out;
  /** Makes the sink's own lines (`log.lines_dropped`), as the logger does. */
  format?: (
    level: "warn" | "error",
    msg: string,
    fields: Record<string, unknown>,
  ) => string;
}

const encoder = new TextEncoder();

/** The lines of one process (or `deno serve --parallel` worker). */
export class LogSink {
  /** stdout lines not yet handed over; joined into one chunk per write. */
  #lines: string[] = [];
  #queue: Chunk[] = [];
  /** Text waiting, in `#lines` and `#queue`. */
  #pending = 0;
  readonly #maxPending: number;
  readonly #flushMs: number;
  #writing = false;
  #scheduled = false;
  #dropped = 0;
  /** Dropped since the last `log.lines_dropped` line. */
  #untold = 0;
  #idle: (() => void)[] = [];
  readonly #stdout: Out;
  readonly #stderr: Out;
  readonly #format: NonNullable<LogSinkOptions["format"]>;
  #stdoutFailed = false;

  constructor(options: LogSinkOptions = {}) {
    const { maxPending = 4 * 1024 * 1024, flushMs = 10 } = options;
    this.#maxPending = maxPending;
    this.#flushMs = flushMs;
    this.#stdout = options.stdout ?? Deno.stdout;
    this.#stderr = options.stderr ?? Deno.stderr;
    this.#format = options.format ??
      ((level, msg, fields) => JSON.stringify({ level, msg, ...fields }));
  }

  /** Lines lost so far: past the bound, or refused by their stream. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Takes one line for stdout, written with the others taken within
   * `flushMs` (one write for many request lines).
   */
  line(line: string): void {
    if (this.#pending + line.length > this.#maxPending) return this.#lose(1);
    this.#pending += line.length;
    this.#lines.push(line);
    if (!this.#writing && !this.#scheduled) this.#schedule();
  }

  /**
   * The next write, `#flushMs` from now: each write is a round trip to a
   * blocking thread (two thread wakes), so they are made at most once per
   * `#flushMs` rather than once per turn of the event loop, which cost a
   * cached GET ~5 us of CPU under `wrk -t1 -c64`.
   */
  #schedule(): void {
    this.#scheduled = true;
    setTimeout(() => {
      this.#scheduled = false;
      if (!this.#writing) this.#drain();
    }, this.#flushMs);
  }

  /** Takes one error line for stderr, after the stdout lines before it. */
  error(line: string): void {
    if (this.#pending + line.length > this.#maxPending) return this.#lose(1);
    this.#handOver();
    this.#pending += line.length + 1;
    this.#queue.push({ out: this.#stderr, text: line + "\n", lines: 1 });
    if (!this.#writing) this.#drain();
  }

  /**
   * Writes one error line on stderr at once, synchronously, ahead of what
   * waits: the process exits right after, so nothing queued would be
   * written anyway, and a stalled stderr may hold that exit (as every error
   * line did before this sink).
   */
  errorSync(line: string): void {
    writeAllSync(this.#stderr, line + "\n");
  }

  /** Resolves once every line taken so far is written (or lost). */
  idle(): Promise<void> {
    if (!this.#writing && this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * At the exit (`unload`), what still waits is written synchronously,
   * unless a write is in flight: the two would interleave, and one in
   * flight this long is a stalled reader that would hold the exit too.
   */
  flushSync(): void {
    if (this.#writing) return;
    this.#handOver();
    for (const chunk of this.#queue.splice(0)) {
      writeAllSync(chunk.out, chunk.text);
    }
    this.#pending = 0;
  }

  #lose(lines: number): void {
    this.#dropped += lines;
    this.#untold += lines;
  }

  /** Moves the waiting stdout lines into the queue as one chunk. */
  #handOver(): void {
    if (this.#lines.length === 0) return;
    const text = this.#lines.join("\n") + "\n";
    // The join's newlines: counted now, released with the chunk.
    this.#pending += this.#lines.length;
    this.#queue.push({ out: this.#stdout, text, lines: this.#lines.length });
    this.#lines = [];
  }

  /** Writes the queue, one chunk at a time, until nothing waits. */
  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      this.#handOver();
      for (let chunk; (chunk = this.#queue.shift()) !== undefined;) {
        await this.#write(chunk);
        // Released once written: the bound holds the chunk in flight too.
        this.#pending -= chunk.text.length;
      }
    } finally {
      this.#writing = false;
      // Lines taken while the write was in flight go with the next one.
      if (this.#lines.length === 0) {
        for (const resolve of this.#idle.splice(0)) {
          resolve();
        }
      } else if (!this.#scheduled) this.#schedule();
    }
  }

  async #write({ out, text, lines }: Chunk): Promise<void> {
    // The count told with this chunk; told again if the chunk is lost too.
    let told = 0;
    if (this.#untold > 0 && out === this.#stdout) {
      told = this.#untold;
      const note = { dropped: told };
      text = this.#format("warn", "log.lines_dropped", note) + "\n" + text;
      this.#untold = 0;
    }
    const bytes = encoder.encode(text);
    let written = 0;
    try {
      while (written < bytes.length) {
        // One write per batch, however long: a batch cut into atomic
        // PIPE_BUF pieces made one round trip to a blocking thread per 4
        // KiB, which under load (2 cores, load average 45) kept up with
        // less than 5,000 requests a second and dropped lines to /dev/null.
        written += await out.write(bytes.subarray(written));
      }
    } catch {
      // EPIPE (the reader gone), ENOSPC (a full disk), EAGAIN (a pipe
      // someone made non-blocking): the lines are lost, the service is not.
      this.#lose(lines);
      this.#untold += told;
      if (out === this.#stdout) this.#sayStdoutFailed();
    }
  }

  /** Said once, on stderr, where it may still be read. */
  #sayStdoutFailed(): void {
    if (this.#stdoutFailed) return;
    this.#stdoutFailed = true;
    const detail = "writing to stdout failed (its reader gone? the disk " +
      "full?); the lines written there are dropped";
    const line = this.#format("error", "log.stdout_failed", { detail });
    this.#pending += line.length + 1;
    this.#queue.push({ out: this.#stderr, text: line + "\n", lines: 1 });
  }
}

/** Writes `text` whole, synchronously; gives up at the first error. */
function writeAllSync(out: Out, text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  try {
    while (written < bytes.length) {
      written += out.writeSync(bytes.subarray(written));
    }
  } catch {
    // Nothing is left to tell at the exit.
  }
}
