/**
 * deploy/nginx.conf as shipped, in front of the service on disk storage: a
 * chunked upload (`curl -T -` from a pipe) goes through it whole. nginx
 * streams a body it does not buffer (`proxy_request_buffering off`) in
 * chunks of its `client_body_buffer_size`, 8 KiB by default, and the
 * runtime's read-ahead of so small chunks (README, Limits, note 2) made the
 * service refuse a 96 MiB `curl -T -` with 400 "Chunks too small" (8,190
 * bytes on average) where the same upload straight to the service is 201.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startDeployedNginx } from "./fixtures/deployed_nginx.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { runTool } from "./fixtures/tool.ts";
import { tempDir } from "./fixtures/temp_dir.ts";

const MiB = 1024 * 1024;

Deno.test({
  name:
    "deploy/nginx.conf passes a 96 MiB chunked upload (sent chunked by curl) through to a 201",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using tempDataDir = await tempDir({ prefix: "nginx-upload-" });
    const dataDir = tempDataDir.path;
    await using service = await spawnService([], {
      env: { DATA_DIR: `${dataDir}/data` },
    });
    await using lb = await startDeployedNginx({
      upstreams: [Number(new URL(service.url).port)],
    });
    const file = `${dataDir}/body.bin`;
    await Deno.writeFile(file, new Uint8Array(96 * MiB).fill(5));
    // Sent chunked, as curl -T - sends a pipe (no length known).
    const out = await runTool("curl", [
      "-sS",
      ...["-H", "Transfer-Encoding: chunked", "-T", file],
      ...["-w", "\n%{http_code}", `${lb.url}/files`],
    ], { install: "apt-get install -y curl" });
    assert.equal(out.code, 0, out.stderr);
    const [answer, status] = out.stdout.split("\n");
    assert.equal(status, "201", answer);
    assert.equal(JSON.parse(answer!).size, 96 * MiB);
  },
});
