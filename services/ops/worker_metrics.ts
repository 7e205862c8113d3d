/**
 * `/metrics` of the whole process under `deno serve --parallel`, whichever
 * worker takes the scrape. The workers are isolates on threads of one
 * process, each with its own registry, and a keep-alive connection stays
 * with the worker that accepted it: a scrape used to show that worker's
 * counters only (a Prometheus through nginx saw them drop at every other
 * scrape, counter resets; straight to the port, one worker's half).
 *
 * At scrape time the worker that answers asks the others over a
 * `BroadcastChannel` (in Deno it reaches every isolate of the process that
 * opens the same name, `deno serve`'s workers too, without a flag) for
 * their figures as `registry.getMetricsAsJSON()` gives them, and merges
 * them with its own by prom-client's `AggregatorRegistry.aggregate`: each
 * metric by its `aggregator` (a sum unless the metric says otherwise, so
 * counters and histogram buckets add up; a few gauges take the max, the
 * min or the process's one value). Nothing is added to a request's path.
 *
 * A worker whose figures are missing would take its share out of every
 * counter, a drop Prometheus reads as a reset; so a scrape waits for every
 * worker known, and when one does not answer within `answerTimeoutMs` it
 * fails (the route answers 503) rather than report less. Workers make
 * themselves known when they start (`hello`, answered `here`) and leave at
 * close (`bye`).
 *
 * @module
 */

import { BroadcastChannel } from "node:worker_threads";
import { AggregatorRegistry, type Registry } from "prom-client";
import { checkWholeNumbers } from "./whole_numbers.ts";

/** A registry's figures, as `getMetricsAsJSON()` gives them. */
type Figures = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

/** What the workers tell each other. */
type Message =
  | { kind: "hello" | "here" | "bye"; from: string }
  | { kind: "ask"; from: string; scrape: number }
  | {
    kind: "answer";
    from: string;
    to: string;
    scrape: number;
    /** Absent when reading them failed. */
    figures: Figures | undefined;
  };

/** A scrape waiting for the other workers' figures. */
interface Gathering {
  /** The workers yet to answer. */
  missing: Set<string>;
  answers: Figures[];
  /** Whether a worker could not read its figures. */
  failed: boolean;
  done: () => void;
}

/** Options of {@linkcode WorkerMetrics}. */
export interface WorkerMetricsOptions {
  /** The channel's name; the workers of one process share it. */
  channel?: string;
  /**
   * How long a scrape waits for the other workers' figures, ms. A worker
   * answers between two of its requests: only a worker stuck for this long
   * fails the scrape. @default {5000}
   */
  answerTimeoutMs?: number;
}

/** The process's metrics, gathered from every worker at scrape time. */
export class WorkerMetrics implements Disposable {
  readonly #registry: Registry;
  readonly #channel: BroadcastChannel;
  readonly #answerTimeoutMs: number;
  readonly #id = crypto.randomUUID();
  /** The other workers, by id. */
  readonly #peers = new Set<string>();
  readonly #gatherings = new Map<number, Gathering>();
  #scrapes = 0;
  #closed = false;

  constructor(registry: Registry, options: WorkerMetricsOptions = {}) {
    const { channel = "async-api-metrics", answerTimeoutMs = 5000 } = options;
    checkWholeNumbers({ answerTimeoutMs }, { min: 1 });
    this.#registry = registry;
    this.#answerTimeoutMs = answerTimeoutMs;
    // Node's, for its unref(): Deno's own kept the worker's event loop
    // alive, so a worker whose listener ended (out of file descriptors)
    // never got to serve.ts's exit 1. Both are the runtime's one channel.
    this.#channel = new BroadcastChannel(channel).unref();
    this.#channel.onmessage = (event: unknown) =>
      this.#receive((event as MessageEvent<Message>).data);
    this.#post({ kind: "hello", from: this.#id });
  }

  /** The other workers known now. */
  get peers(): number {
    return this.#peers.size;
  }

  /**
   * The exposition text of every worker's figures merged, or `undefined`
   * when a worker did not send its own in time (or this one is closed).
   */
  async expose(): Promise<string | undefined> {
    if (this.#closed) return undefined;
    const scrape = ++this.#scrapes;
    const peers = this.#gather(scrape);
    this.#post({ kind: "ask", from: this.#id, scrape });
    // Own first: a metric aggregated by `first` (the process's resident
    // memory) is then this worker's reading.
    const [own, others] = await Promise.all([
      this.#registry.getMetricsAsJSON(),
      peers,
    ]);
    if (others === undefined) return undefined;
    return await AggregatorRegistry.aggregate([own, ...others]).metrics();
  }

  /** Leaves: the other workers stop waiting for this one. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#post({ kind: "bye", from: this.#id });
    this.#channel.close();
    for (const gathering of this.#gatherings.values()) gathering.done();
  }

  /** Same as {@linkcode WorkerMetrics.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The figures of every other worker known now, once all answered;
   * `undefined` past the timeout (or when this worker closes meanwhile).
   */
  #gather(scrape: number): Promise<Figures[] | undefined> {
    if (this.#peers.size === 0) return Promise.resolve([]);
    const { promise, resolve } = Promise.withResolvers<
      Figures[] | undefined
    >();
    const gathering: Gathering = {
      missing: new Set(this.#peers),
      answers: [],
      failed: false,
      done: () => {
        clearTimeout(timer);
        this.#gatherings.delete(scrape);
        const whole = gathering.missing.size === 0 && !gathering.failed;
        resolve(whole ? gathering.answers : undefined);
      },
    };
    const timer = setTimeout(gathering.done, this.#answerTimeoutMs);
    this.#gatherings.set(scrape, gathering);
    return promise;
  }

  #receive(message: Message): void {
    if (this.#closed) return;
    switch (message.kind) {
      case "hello":
        this.#peers.add(message.from);
        this.#post({ kind: "here", from: this.#id });
        return;
      case "here":
        this.#peers.add(message.from);
        return;
      case "bye":
        this.#peers.delete(message.from);
        for (const gathering of this.#gatherings.values()) {
          this.#answered(gathering, message.from);
        }
        return;
      case "ask":
        // A worker that asks is one (its hello may have come before this
        // worker listened).
        this.#peers.add(message.from);
        void this.#answer(message.from, message.scrape);
        return;
      case "answer": {
        const gathering = message.to === this.#id
          ? this.#gatherings.get(message.scrape)
          : undefined;
        if (gathering?.missing.has(message.from)) {
          if (message.figures === undefined) gathering.failed = true;
          else gathering.answers.push(message.figures);
          this.#answered(gathering, message.from);
        }
        return;
      }
    }
  }

  #answered(gathering: Gathering, peer: string): void {
    gathering.missing.delete(peer);
    if (gathering.missing.size === 0 || gathering.failed) gathering.done();
  }

  async #answer(to: string, scrape: number): Promise<void> {
    // A failed read (a gauge's source threw) fails the scrape at once, as
    // it does on the worker that answers (500), not at the timeout.
    const figures = await this.#registry.getMetricsAsJSON().catch(() =>
      undefined
    );
    this.#post({ kind: "answer", from: this.#id, to, scrape, figures });
  }

  #post(message: Message): void {
    if (this.#closed && message.kind !== "bye") return;
    this.#channel.postMessage(message);
  }
}
