/**
 * `MAX_HTTP2_CONNECTIONS` bounds the h2c connections of all addresses at
 * once; `MAX_HTTP2_CONNECTIONS_PER_CLIENT` bounds one address's, which an
 * attacker with many addresses (a cloud range, an IPv6 /64) passes: by
 * hand, 32 addresses of 16 connections, each with 200 zero-window streams
 * of `/posts`, took the process from 100 MB to 1,249 MB and held 2 of 15
 * curl probes of `/posts/1` past 10 s. Past the cap, a new HTTP/2
 * connection is closed at its first request, before its other streams are
 * handled, as past the per-address one.
 *
 * @module
 */

import assert from "node:assert/strict";
import { OPEN_STREAMS, PYTHON } from "./fixtures/h2c_client.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

/**
 * Opens `per` h2c connections of `streams` zero-window GETs of `path` from
 * each of `addrs` loopback addresses (127.0.0.2 on), waits `seconds` and
 * prints how many the service still holds open.
 */
const MANY_ADDRESSES = `${OPEN_STREAMS}
port, path, addrs, per, streams, seconds = sys.argv[1:7]
block = b"".join(literal(n, v) for n, v in [(b":method", b"GET"), (b":scheme", b"http"),
    (b":path", path.encode()), (b":authority", b"localhost")])
socks = []
for a in range(int(addrs)):
    for c in range(int(per)):
        s = socket.create_connection(("127.0.0.1", int(port)), source_address=("127.0.0.%d" % (2 + a), 0))
        s.sendall(b"PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n" + frame(4, 0, 0, struct.pack(">HI", 4, 0))
                  + b"".join(frame(1, 5, 1 + 2 * i, block) for i in range(int(streams))))
        socks.append(s)
time.sleep(float(seconds))
held = 0
for s in socks:
    s.setblocking(False)
    try:
        while s.recv(65536) != b"":
            pass
    except BlockingIOError:
        held += 1
    except OSError:
        pass
print(held)
`;

Deno.test("h2c connections of many addresses past MAX_HTTP2_CONNECTIONS are closed, each address under its own cap; HTTP/1.1 is answered", async () => {
  await using upstream = startFixtureUpstream();
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { UPSTREAM_URL: upstream.url, MAX_HTTP2_CONNECTIONS: "32" },
    });
    const port = new URL(service.url).port;
    // 8 addresses of 12 connections: each under the per-address cap (16).
    const attack = await new Deno.Command(PYTHON, {
      args: ["-c", MANY_ADDRESSES, port, "/posts/1", "8", "12", "50", "3"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const said = new TextDecoder().decode(attack.stderr);
    assert.ok(attack.success, said);
    const held = Number(new TextDecoder().decode(attack.stdout).trim());
    // Before: all 96 held, each with its 50 streams.
    assert.equal(held, 32);
    const res = await fetch(`${service.url}/posts/1`);
    await res.body?.cancel();
    assert.equal(res.status, 200);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    assert.match(
      metrics,
      /^http_connections_closed_total\{reason="http2_total"\} 64$/m,
    );
    assert.match(
      metrics,
      /^http_connections_closed_total\{reason="http2_per_client"\} 0$/m,
    );
  });
});
