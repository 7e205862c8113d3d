// The upload page's shared event stream: a SharedWorker that every tab of
// the page on this origin connects to, holding one GET /uploads/events (of
// every upload) for all of them and passing each tab its own upload's
// events. Over HTTP/1.1 chromium keeps 6 connections to an origin, and a
// stream per tab made each upload hold 2 (the upload and its stream): a
// fourth tab's upload waited for a connection. Shared, n uploads hold n+1.
//
// A tab's messages: { type: "watch", id, authorization } before it sends
// upload `id`, { type: "unwatch", id } once it has its answer (or gave up).
// The worker's: "hello" once connected, then per id "ready" (the stream is
// open: send now), "refused" (status and body of the service's answer),
// "event" (name and data) and "lost" (the stream ended or broke).
// readEvents is event_stream.js's, served at the start of this script.
"use strict";

// One stream per Authorization value (tabs may hold different tokens):
// { stop, ready, ids: Map<id, port> }.
const streams = new Map();

function forget(authorization, stream) {
  if (streams.get(authorization) === stream) streams.delete(authorization);
}

// No tab watching: the stream is closed, so an idle page holds nothing.
function closeIfUnwatched(authorization, stream) {
  if (stream.ids.size > 0) return;
  forget(authorization, stream);
  stream.stop.abort();
}

// Every upload's events, each passed to the tab watching its id; `done`
// ends the id's watch (a `failed` may be another client's refused retry
// of the id: the tab ends its watch itself once its upload is answered).
function deliver(authorization, stream, name, data) {
  const port = stream.ids.get(data.id);
  if (!port) return;
  port.postMessage({ type: "event", id: data.id, name, data });
  if (name !== "done") return;
  stream.ids.delete(data.id);
  closeIfUnwatched(authorization, stream);
}

async function run(authorization, stream) {
  try {
    const headers = authorization ? { authorization } : {};
    const response = await fetch("/uploads/events", {
      headers,
      signal: stream.stop.signal,
    });
    if (!response.ok) {
      const text = await response.text();
      forget(authorization, stream);
      for (const [id, port] of stream.ids) {
        port.postMessage({
          type: "refused",
          id,
          status: response.status,
          text,
        });
      }
      return;
    }
    stream.ready = true;
    for (const [id, port] of stream.ids) {
      port.postMessage({ type: "ready", id });
    }
    await readEvents(
      response.body,
      (name, data) => deliver(authorization, stream, name, data),
    );
  } catch {
    // Stopped (no tab watches), or the connection broke.
  }
  forget(authorization, stream);
  for (const [id, port] of stream.ids) port.postMessage({ type: "lost", id });
}

function watch(port, { id, authorization }) {
  let stream = streams.get(authorization);
  if (!stream) {
    stream = { stop: new AbortController(), ready: false, ids: new Map() };
    streams.set(authorization, stream);
    run(authorization, stream);
  }
  stream.ids.set(id, port);
  if (stream.ready) port.postMessage({ type: "ready", id });
}

function unwatch({ id }) {
  for (const [authorization, stream] of [...streams]) {
    stream.ids.delete(id);
    closeIfUnwatched(authorization, stream);
  }
}

addEventListener("connect", (e) => {
  const port = e.ports[0];
  port.addEventListener("message", ({ data }) => {
    if (data.type === "watch") watch(port, data);
    else if (data.type === "unwatch") unwatch(data);
  });
  port.start();
  port.postMessage({ type: "hello" });
});
