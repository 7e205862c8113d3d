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

Deno.test("each line has the time it was written to the millisecond, and its own level and message", () => {
  const { logger, lines } = capture("debug");
  const sent: {
    level: LogLevel;
    msg: string;
    before: number;
    after: number;
  }[] = [];
  const levels: LogLevel[] = ["info", "info", "warn", "debug"];
  // Long enough to cross several milliseconds, and often a second.
  const until = Date.now() + 30;
  for (let i = 0; Date.now() < until || i < 8; i++) {
    const level = levels[i % levels.length]!;
    const msg = i % 3 === 0 ? "request" : `m"${i % 2}`;
    const before = Date.now();
    logger[level](msg, { i });
    sent.push({ level, msg, before, after: Date.now() });
  }
  assert.equal(lines.length, sent.length);
  lines.forEach((line, i) => {
    const record = JSON.parse(line);
    const { level, msg, before, after } = sent[i]!;
    assert.equal(record.level, level);
    assert.equal(record.msg, msg);
    assert.equal(record.i, i);
    assert.match(record.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const ms = Date.parse(record.time);
    assert.equal(new Date(ms).toISOString(), record.time);
    assert.ok(ms >= before && ms <= after, `${record.time} not in its call`);
  });
});
