#!/usr/bin/env sh
# Installs the Debian packages the tests start or drive, when missing, so that
# `deno task test` works as written on a fresh Debian machine. Run by the test
# task before the tests; does nothing when everything is present.
# Without root (and without sudo) it names what is missing and goes on: the
# tests that need it then fail, or are ignored outside CI, saying why.
set -eu

missing=""
lean=""
need() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || missing="$missing $2"; }
need_lean() { command -v "$1" >/dev/null 2>&1 || lean="$lean $2"; }

# chromium: the /docs page is tested in a real headless browser.
need chromium chromium
# curl, python3-requests: uploads from real clients (forms included).
need curl curl
/usr/bin/python3 -c 'import requests' >/dev/null 2>&1 || missing="$missing python3-requests"
# Real engines started on loopback ports by tests/fixtures.
need redis-server redis-server
need nginx nginx-light
# slowhttptest: a real slowloris client against the header timeout.
need slowhttptest slowhttptest
# nghttp (nghttp2-client): a real HTTP/2 client multiplexing over one h2c
# connection (tests/h2c_streams_test.ts).
need nghttp nghttp2-client
# promtool lints /metrics; aria2c and wget download stored files; httpx
# uploads from Python (tests/metrics_promtool_test.ts, download_clients_test.ts,
# httpx_upload_test.ts). prometheus without its recommended node exporter.
need_lean promtool prometheus
need aria2c aria2
need wget wget
# httpie uploads with `http PUT URL < file` (tests/put_name_clients_test.ts).
need http httpie
# openssl makes the TLS certificates of the S3-over-https tests.
need openssl openssl
# pigz and bgzip (tabix) write gzip of several members, uploaded coded
# (tests/upload_coding_test.ts).
need pigz pigz
need bgzip tabix
# faketime runs the service with its clock 20 min ahead of the S3 store's
# (tests/s3_misconfigured_start_test.ts).
need faketime faketime
# strace gives one open of a folder the kernel's EMFILE, where a commit meets
# a shortage of descriptors (tests/disk_commit_descriptors_test.ts).
need strace strace
/usr/bin/python3 -c 'import httpx' >/dev/null 2>&1 || missing="$missing python3-httpx"
# Python's CacheControl (pip's HTTP cache), a client that counts age from Date
# (tests/python_cachecontrol_test.ts).
/usr/bin/python3 -c 'import cachecontrol' >/dev/null 2>&1 || missing="$missing python3-cachecontrol"
# Ceph (one monitor, one OSD, radosgw): the real S3 store. Its recommends are
# not needed (~265 MB without them).
# ip and unshare: a network namespace of its own for the port handover test,
# where it may set net.ipv4.tcp_migrate_req (tests/port_handover_test.ts).
need ip iproute2
need unshare util-linux
need_lean ceph-mon ceph-mon
need_lean ceph-osd ceph-osd
need_lean radosgw radosgw
need_lean ceph-authtool ceph-common

[ -z "$missing$lean" ] && exit 0

if [ "$(id -u)" = 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo -n"
else
  echo "tests: missing Debian packages:$missing$lean (run as root, or: apt-get install -y$missing && apt-get install -y --no-install-recommends$lean)" >&2
  [ "${CI:-}" = "true" ] && exit 1
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
if [ -n "$missing" ]; then
  echo "tests: apt-get install$missing"
  $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq $missing >/dev/null
fi
if [ -n "$lean" ]; then
  echo "tests: apt-get install --no-install-recommends$lean"
  $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $lean >/dev/null
fi
