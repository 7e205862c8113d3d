// The upload page's requests: an upload's id, its events on
// GET /uploads/events?id=... and its body sent to POST /files. Served as
// one script with event_stream.js, upload_view.js and upload.js
// (routes/files/upload_page.ts).
//
// The events are read with fetch rather than EventSource: EventSource
// cannot send an Authorization header, which the service asks for when it
// runs with UPLOAD_TOKEN; fetch can, and the token never lands in a URL.
// Every tab of the page shares one stream, held by a SharedWorker
// (/assets/upload_events.js): over HTTP/1.1 chromium keeps 6 connections
// to the service, and a stream per tab made each upload hold 2. Where
// there is no such worker (a browser without SharedWorker, or an instance
// of the service from before it, met during a rolling upgrade), the tab
// reads its own stream of ?id= as before.
// deno-lint-ignore-file no-unused-vars
"use strict";

function hex(byteArray) {
  return Array.from(byteArray, (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

// Like the server's ids: the time in ms (12 hex digits), then 80 random bits.
function newUploadId() {
  const time = Date.now().toString(16).padStart(12, "0").slice(-12);
  return time + hex(crypto.getRandomValues(new Uint8Array(10)));
}

function authHeaders() {
  const token = $("token").value.trim();
  return token ? { authorization: `Bearer ${token}` } : {};
}

function say(text) {
  $("status").textContent = text;
}

// Problem details (RFC 9457) say what went wrong; fall back to the status.
function problemText(status, text) {
  try {
    const problem = JSON.parse(text);
    return problem.detail || problem.title || `HTTP ${status}`;
  } catch {
    return `HTTP ${status}`;
  }
}

// Subscribes to the events of upload `id`; resolves once the server
// answered, with the promise of the stream's end and its stop. `cancel`
// stops it until then: chromium keeps 6 connections to one origin, and
// with all taken (3 tabs uploading) the subscription waits for one.
async function watch(id, onEvent, cancel) {
  const stop = new AbortController();
  const onCancel = () => stop.abort();
  cancel.addEventListener("abort", onCancel);
  const response = await fetch(`/uploads/events?id=${id}`, {
    headers: authHeaders(),
    signal: stop.signal,
  }).finally(() => cancel.removeEventListener("abort", onCancel));
  if (!response.ok) {
    const error = new Error(
      problemText(response.status, await response.text()),
    );
    error.status = response.status;
    throw error;
  }
  const ended = readEvents(response.body, onEvent).catch(() => {});
  return { ended, stop: () => stop.abort() };
}

// The shared worker's port once it said hello, or undefined without one.
let sharedPort;
// The handler of each upload id this tab watches through the worker.
const sharedWatches = new Map();

function sharedEvents() {
  sharedPort ??= new Promise((resolve) => {
    if (typeof SharedWorker !== "function") return resolve(undefined);
    let worker;
    try {
      // The name keys the worker's version: a tab of a newer page never
      // talks to a worker started by an older one.
      worker = new SharedWorker("/assets/upload_events.js", {
        name: "upload-events-1",
      });
    } catch {
      return resolve(undefined);
    }
    // Not served (an older instance answered 404), or refused. A worker
    // that never says hello (its error not fired: seen once in chromium
    // under load, the upload then waiting for good) is given up too.
    worker.addEventListener("error", () => resolve(undefined));
    setTimeout(() => resolve(undefined), 3000);
    worker.port.addEventListener("message", ({ data }) => {
      if (data.type === "hello") resolve(worker.port);
      else sharedWatches.get(data.id)?.(data);
    });
    worker.port.start();
  });
  return sharedPort;
}

// As watch(), through the worker's stream: resolves once the service
// answered it, `ended` at the upload's done or failed, or a lost stream.
function watchShared(port, id, onEvent, cancel) {
  return new Promise((resolve, reject) => {
    let open = false;
    let endStream;
    const ended = new Promise((done) => (endStream = done));
    const stop = () => {
      sharedWatches.delete(id);
      port.postMessage({ type: "unwatch", id });
      endStream();
    };
    const onCancel = () => {
      stop();
      reject(new DOMException("cancelled", "AbortError"));
    };
    cancel.addEventListener("abort", onCancel, { once: true });
    const fail = (error) => {
      cancel.removeEventListener("abort", onCancel);
      stop();
      reject(error);
    };
    sharedWatches.set(id, (message) => {
      if (message.type === "ready" && !open) {
        open = true;
        cancel.removeEventListener("abort", onCancel);
        resolve({ ended, stop });
      } else if (message.type === "refused") {
        const error = new Error(problemText(message.status, message.text));
        error.status = message.status;
        fail(error);
      } else if (message.type === "lost") {
        if (open) endStream();
        else fail(new Error("the event stream broke"));
      } else if (message.type === "event") {
        onEvent(message.name, message.data);
        if (message.name !== "progress") endStream();
      }
    });
    port.postMessage({
      type: "watch",
      id,
      authorization: authHeaders().authorization,
    });
  });
}

// Resolves when `cancel` aborts, as an AbortError.
function cancelled(cancel) {
  return new Promise((_, reject) => {
    const abort = () => reject(new DOMException("cancelled", "AbortError"));
    if (cancel.aborted) abort();
    else cancel.addEventListener("abort", abort, { once: true });
  });
}

// The events of upload `id`, through the shared worker when there is one.
// Its script may itself wait for a connection (all 6 taken): Cancel still
// stops the wait.
async function watchAny(id, onEvent, cancel) {
  const port = await Promise.race([sharedEvents(), cancelled(cancel)]);
  return port
    ? watchShared(port, id, onEvent, cancel)
    : watch(id, onEvent, cancel);
}

// Sends the file; resolves { status, text } once the server answered,
// rejects with an AbortError when `cancel` stopped it.
function send(file, id, onSent, cancel) {
  return new Promise((resolve, reject) => {
    if (cancel.aborted) {
      reject(new DOMException("cancelled", "AbortError"));
      return;
    }
    const xhr = new XMLHttpRequest();
    cancel.addEventListener("abort", () => xhr.abort());
    xhr.open("POST", "/files");
    xhr.setRequestHeader("content-type", "application/octet-stream");
    xhr.setRequestHeader("upload-id", id);
    for (const [name, value] of Object.entries(authHeaders())) {
      xhr.setRequestHeader(name, value);
    }
    xhr.upload.addEventListener("progress", (e) => onSent(e.loaded));
    xhr.addEventListener(
      "load",
      () => resolve({ status: xhr.status, text: xhr.responseText }),
    );
    xhr.addEventListener("error", () => reject(new Error("network error")));
    xhr.addEventListener(
      "abort",
      () => reject(new DOMException("cancelled", "AbortError")),
    );
    xhr.send(file);
  });
}
