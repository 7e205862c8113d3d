/**
 * The heap of a running service, read through its inspector (started with
 * `--inspect=127.0.0.1:PORT`) over the DevTools protocol, for the soak
 * (bench/SOAK.md): `usage` prints the heap in use before and after a full
 * collection and the heap's total, in MiB (what the sampler tabulates each
 * minute: the figure after the collection is what the process keeps);
 * `snapshot FILE` collects and writes a heap snapshot (compare two with
 * bench/heap_diff.ts).
 *
 * ```sh
 * deno run -A bench/heap_inspect.ts 9229 usage
 * deno run -A bench/heap_inspect.ts 9229 snapshot /tmp/a.heapsnapshot
 * ```
 *
 * @module
 */

const encoder = new TextEncoder();
/** A line to stdout (a tool's output, not a log). */
const print = (line: string) =>
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
/** A line to stderr. */
const printError = (line: string) =>
  Deno.stderr.writeSync(encoder.encode(line + "\n"));

interface Target {
  webSocketDebuggerUrl: string;
}

interface HeapUsage {
  usedSize: number;
  totalSize: number;
}

/** A DevTools protocol session over the inspector's WebSocket. */
class Session {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, (result: unknown) => void>();
  readonly chunks: string[] = [];
  #id = 0;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.id !== undefined) {
        this.#pending.get(message.id)?.(message.result ?? message.error);
        this.#pending.delete(message.id);
      } else if (message.method === "HeapProfiler.addHeapSnapshotChunk") {
        this.chunks.push(message.params.chunk);
      }
    };
  }

  /** Connects to the first target of the inspector on `port`. */
  static async open(port: number): Promise<Session> {
    const list: Target[] = await (await fetch(
      `http://127.0.0.1:${port}/json/list`,
    )).json();
    const ws = new WebSocket(list[0]!.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    return new Session(ws);
  }

  /** Sends `method` and waits for its result. */
  call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.#id;
    const { promise, resolve } = Promise.withResolvers<unknown>();
    this.#pending.set(id, resolve);
    this.#ws.send(JSON.stringify({ id, method, params }));
    return promise as Promise<T>;
  }

  close(): void {
    this.#ws.close();
  }
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(2);

if (import.meta.main) {
  const [port, command = "usage", file] = Deno.args;
  const session = await Session.open(Number(port));
  try {
    if (command === "usage") {
      const before = await session.call<HeapUsage>("Runtime.getHeapUsage");
      await session.call("HeapProfiler.collectGarbage");
      const after = await session.call<HeapUsage>("Runtime.getHeapUsage");
      print(
        `${mib(before.usedSize)} ${mib(after.usedSize)} ${
          mib(after.totalSize)
        }`,
      );
    } else if (command === "snapshot" && file !== undefined) {
      await session.call("HeapProfiler.collectGarbage");
      await session.call("HeapProfiler.takeHeapSnapshot", {
        reportProgress: false,
      });
      await Deno.writeTextFile(file, session.chunks.join(""));
      print(`wrote ${file}`);
    } else {
      printError("usage: heap_inspect.ts PORT usage|snapshot FILE");
      Deno.exitCode = 2;
    }
  } finally {
    session.close();
  }
}
