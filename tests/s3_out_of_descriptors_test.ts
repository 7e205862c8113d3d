/**
 * The S3 store's requests that fail because this process is out of file
 * descriptors (the connect fails with EMFILE, "Too many open files") are
 * the process's shortage, not the store's failure: 503 with `Retry-After`
 * as any request failed for want of descriptors (the central error
 * handler's throttled line counts them), and the store is not called
 * down. Before, they were the store "unreachable": 503 "The file storage
 * cannot be reached", a `files.storage_down` line, and `/readyz` 503
 * `unreachable` (a load balancer took the instance out for a store that
 * was fine). Their throttled line names the store (`dependency`, and
 * the error's message), not only `TypeError: fetch failed`, without
 * reading a stack.
 *
 * The app runs in a process of its own (tests/fixtures/s3_starved_app.ts)
 * under `ulimit -n 256`, on the real Ceph fixture, holding every
 * descriptor it may open while it is asked.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runUnderUlimit } from "./fixtures/under_ulimit.ts";
import { sharedCeph } from "./fixtures/ceph.ts";
import { cephTest, s3Args } from "./fixtures/s3_app.ts";

const PROGRAM = new URL("./fixtures/s3_starved_app.ts", import.meta.url)
  .pathname;

interface Answer {
  status: number;
  retryAfter: string | null;
  body: string;
}

cephTest(
  "s3: requests failed for want of file descriptors are 503 with Retry-After, and the store is not called down",
  async () => {
    await using ceph = await sharedCeph();
    const { code, stdout: text, stderr } = await runUnderUlimit(
      256,
      PROGRAM,
      ...s3Args(ceph),
    );
    assert.equal(code, 0, stderr);
    const result = JSON.parse(text.trim().split("\n").at(-1)!) as {
      held: number;
      before: Answer;
      starved: Answer[];
      readyz: Answer;
      after: Answer;
      lines: string[];
    };
    assert.ok(result.held > 0, text);
    assert.equal(result.before.status, 201, text);
    const refused = result.starved.filter((a) => a.status >= 500);
    // Some reused an idle connection; the others had to connect.
    assert.ok(refused.length > 0, text);
    for (const answer of refused) {
      assert.equal(answer.status, 503, text);
      assert.equal(answer.retryAfter, "1", text);
      assert.match(answer.body, /overloaded/, text);
    }
    assert.equal(result.readyz.status, 200, text);
    const down = result.lines.filter((l) => l.includes("storage_down"));
    assert.deepEqual(down, [], text);
    // Counted with the other requests failed for want of descriptors, the
    // line naming whose call ran out: it said `TypeError: fetch failed`.
    const failed = result.lines.map((l) => JSON.parse(l))
      .filter((r) => r.msg === "request.failed" && r.reason === "emfile");
    assert.ok(failed.length > 0, text);
    for (const line of failed) {
      assert.equal(line.dependency, "store", text);
      assert.equal(line.error.name, "NoDescriptorError", text);
      assert.match(line.error.message, /call to the store: fetch failed/, text);
      assert.equal(line.error.stack, undefined, text);
    }
    assert.equal(result.after.status, 201, text);
  },
);
