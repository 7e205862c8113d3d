/**
 * The JSON-lines logger: one object per line with `time`, `level` and
 * `msg` first, then the caller's fields; errors spelled out; levels below
 * the threshold dropped.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createLogger, type LogLevel } from "../services/ops/logger.ts";

function capture(level: LogLevel = "info") {
  const lines: string[] = [];
  const logger = createLogger({ level, write: (line) => lines.push(line) });
  return { logger, lines };
}

Deno.test("a record is one JSON line: time, level, msg, then the fields in order", () => {
  const { logger, lines } = capture();
  logger.info("request", { method: "GET", status: 200, cache: "hit" });
  assert.equal(lines.length, 1);
  const record = JSON.parse(lines[0]!);
  assert.deepEqual(Object.keys(record), [
    "time",
    "level",
    "msg",
    "method",
    "status",
    "cache",
  ]);
  assert.equal(record.level, "info");
  assert.equal(record.msg, "request");
  assert.ok(!Number.isNaN(Date.parse(record.time)));
  assert.equal(record.status, 200);
});

Deno.test("no fields, empty fields and odd messages still make valid JSON", () => {
  const { logger, lines } = capture();
  logger.warn('say "hi"\n');
  logger.info("empty", {});
  assert.deepEqual(JSON.parse(lines[0]!).msg, 'say "hi"\n');
  assert.deepEqual(Object.keys(JSON.parse(lines[1]!)), [
    "time",
    "level",
    "msg",
  ]);
});

Deno.test("errors are spelled out and the caller's fields are left untouched", () => {
  const { logger, lines } = capture();
  const fields = { requestId: "r1", error: new TypeError("boom") };
  logger.warn("failed", fields);
  const record = JSON.parse(lines[0]!);
  assert.equal(record.error.name, "TypeError");
  assert.equal(record.error.message, "boom");
  assert.match(record.error.stack, /boom/);
  assert.ok(fields.error instanceof TypeError);
});

Deno.test("a field named like the head replaces it, as before", () => {
  const { logger, lines } = capture();
  logger.info("x", { msg: "override", level: "custom" });
  const record = JSON.parse(lines[0]!);
  assert.equal(record.msg, "override");
  assert.equal(record.level, "custom");
});

Deno.test("records below the level are dropped", () => {
  const { logger, lines } = capture("warn");
  logger.debug("d");
  logger.info("i");
  logger.warn("w");
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0]!).msg, "w");
  assert.ok(!logger.enabled("info") && logger.enabled("error"));
});
