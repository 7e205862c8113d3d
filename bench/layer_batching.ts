/**
 * Where the connection layer's cost comes from (bench/PROFILE.md, "Fifth
 * round"): the same constant-body handler under `Deno.serve` and under the
 * service's connection layer (`bench/guarded_minimal_server.ts`), CPU time
 * per request at 1 connection and at 64, in alternating rounds, each round
 * one paired ratio (layer / `Deno.serve`).
 *
 * `Deno.serve` accepts on one listener and, when it wakes, takes every
 * request already parsed on any connection before it waits again; the
 * per-connection server the layer needs has one connection to take from.
 * With one connection there is nothing to batch, so the two should cost
 * the same; with 64 the difference is what batching saves.
 *
 * ```sh
 * deno run -A bench/layer_batching.ts [--rounds 7] [--seconds 3]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { cpuSecondsOf, median, startServer, wrk } from "./lib.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    seconds: { type: "string", default: "3" },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
if (!Number.isInteger(rounds) || rounds < 1) {
  throw new RangeError(`--rounds must be a positive integer: ${rounds}`);
}
if (!(seconds > 0)) throw new RangeError(`--seconds must be > 0: ${seconds}`);

const here = (file: string) => new URL(file, import.meta.url).pathname;
await using plain = await startServer([
  Deno.execPath(),
  "run",
  "-A",
  here("./minimal_server.ts"),
]);
await using layered = await startServer([
  Deno.execPath(),
  "run",
  "-A",
  here("./guarded_minimal_server.ts"),
]);

/** CPU µs per request of `server` over one wrk run. */
async function cpuPerRequest(
  server: { url: string; pid: number },
  connections: number,
): Promise<number> {
  const before = await cpuSecondsOf(server.pid);
  const run = await wrk(server.url, { connections, seconds });
  const after = await cpuSecondsOf(server.pid);
  return (after - before) * 1e6 / run.requests;
}

for (const connections of [1, 64]) {
  await cpuPerRequest(plain, connections); // warm-up
  await cpuPerRequest(layered, connections);
  const ratios: number[] = [];
  const costs: [number, number][] = [];
  for (let round = 0; round < rounds; round++) {
    // Mirrored order each round, so a drift of the machine's load hits
    // both alike.
    const first = round % 2 === 0 ? plain : layered;
    const second = first === plain ? layered : plain;
    const a = await cpuPerRequest(first, connections);
    const b = await cpuPerRequest(second, connections);
    const [p, l] = first === plain ? [a, b] : [b, a];
    costs.push([p, l]);
    ratios.push(l / p);
  }
  const sorted = [...ratios].sort((x, y) => x - y);
  // deno-lint-ignore no-console
  console.log(
    `${connections} connection(s): layer / Deno.serve CPU per request ` +
      `median ${median(ratios).toFixed(2)} (range ${sorted[0]!.toFixed(2)}-${
        sorted.at(-1)!.toFixed(2)
      }); Deno.serve ${median(costs.map(([p]) => p)).toFixed(1)} µs, layer ${
        median(costs.map(([, l]) => l)).toFixed(1)
      } µs`,
  );
}
