# syntax=docker/dockerfile:1
#
# async-api as one compiled executable on a distroless runtime image.
#
#   docker build -t async-api .
#   docker run --rm -p 8000:8000 -v async-api-data:/data async-api
#
# Settings come from the environment (README, "Settings"), e.g.
# `-e UPSTREAM_URL=http://upstream:3000 -e LOG_LEVEL=debug`.
#
# The permissions are baked into the executable by `deno task compile`
# (deno.json), the start task's deployment set: outbound network open (the
# upstream, Redis and S3 hosts are settings, so any of them works without a
# rebuild), only the named environment variables, read/write on ./data and
# /data, statfs. Another data folder needs those flags widened and a rebuild.
# The start task's V8 flags are baked in too (README, "Memory under a
# flood of keys" and "The inlining budget").
# compose.yaml runs three of these behind nginx (README, "Running several
# instances").

# ---- build ------------------------------------------------------------------
# The Deno that compiles is pinned: its runtime (denort 2.9.6, downloaded by
# `deno compile` from dl.deno.land) is what the executable runs on. To pin
# the image by digest as well, look it up and append it:
#   docker buildx imagetools inspect denoland/deno:2.9.6
#   FROM denoland/deno:2.9.6@sha256:<digest> AS build
FROM denoland/deno:2.9.6 AS build

WORKDIR /app

# Dependencies in their own cached layer: rebuilt only when deno.json or
# deno.lock change, and exactly as locked (--frozen fails on any drift).
COPY deno.json deno.lock ./
RUN deno install --frozen

# The sources (.dockerignore keeps node_modules, data, tests, ... out), then
# the executable, with the very command of `deno task compile`. The /docs
# assets are imported as text, so they are compiled in with the code.
COPY . .
RUN deno task compile \
  && ./async-api --help > /dev/null

# The data folder, owned by distroless's nonroot user (65532), so the volume
# Docker makes from it is writable by the service.
RUN mkdir -p /rootfs/data && chown 65532:65532 /rootfs/data

# ---- runtime ----------------------------------------------------------------
# glibc and libgcc (what a compiled Deno executable links against), CA
# certificates and tzdata; no shell, no package manager. For reproducible
# builds pin the digest here too (docker buildx imagetools inspect ...).
FROM gcr.io/distroless/cc-debian12:nonroot

COPY --from=build /app/async-api /async-api
COPY --from=build --chown=65532:65532 /rootfs/ /

# Listen on every interface inside the container; keep uploads on the volume.
# The drain after SIGTERM (the grace, then up to 2 s for stopped uploads to
# answer and remove their .part) stays under `docker stop`'s 10 s before
# SIGKILL, with a second to spare.
ENV HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/data \
    SHUTDOWN_GRACE_MS=7000

VOLUME /data
EXPOSE 8000

# Numeric, so runtimes that check runAsNonRoot can verify it.
USER 65532:65532

# No curl or wget in distroless: the executable probes /healthz on
# 127.0.0.1:$PORT itself and exits 0 (healthy) or 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/async-api", "--healthcheck"]

# The service is PID 1: it handles SIGTERM/SIGINT itself (drain, exit 0) and
# starts no child processes, so no init (tini) is needed.
ENTRYPOINT ["/async-api"]
