// The upload page: sends the picked or dropped file to POST /files with an
// Upload-Id chosen here, and follows that upload's events on
// GET /uploads/events?id=... to draw the reader and writer at work.
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
"use strict";

const $ = (id) => document.getElementById(id);
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

function bytes(n) {
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${UNITS[i]}`;
}

function ms(n) {
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;
}

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

// Reads the event stream of `response`, calling onEvent(name, data) for
// each event, until the stream ends (the server ends it after this
// upload's done or failed event).
async function readEvents(response, onEvent) {
  const reader = response.body.pipeThrough(new TextDecoderStream())
    .getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trim());
      }
      if (data.length > 0) onEvent(name, JSON.parse(data.join("\n")));
    }
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
  const ended = readEvents(response, onEvent).catch(() => {});
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

// The upload running, if any: its file's name and its abort, which Cancel
// calls, whether the upload is sent yet or still waits for its subscription.
let running;

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

const view = { total: 0, received: 0, previous: undefined, done: false };

function setWidth(id, share) {
  $(id).style.width = `${Math.round(share * 100)}%`;
}

// The bars show how the time since the previous update was spent.
function drawLanes(p) {
  const before = view.previous || {
    readerWaitMs: 0,
    readerBlockedMs: 0,
    writerWriteMs: 0,
    writerIdleMs: 0,
    writerHashWaitMs: 0,
  };
  const wait = p.readerWaitMs - before.readerWaitMs;
  const blocked = p.readerBlockedMs - before.readerBlockedMs;
  const write = p.writerWriteMs - before.writerWriteMs;
  const idle = p.writerIdleMs - before.writerIdleMs;
  // Waiting on the SHA-256 is writer time too (the lane leaves it blank);
  // figures of an instance without it count none.
  const hashWait = (p.writerHashWaitMs ?? 0) -
    (before.writerHashWaitMs ?? 0);
  const reader = Math.max(wait + blocked, 1e-9);
  const writer = Math.max(write + idle + hashWait, 1e-9);
  setWidth("reader-wait", wait / reader);
  setWidth("reader-blocked", blocked / reader);
  setWidth("writer-write", write / writer);
  setWidth("writer-idle", idle / writer);
  $("reader-text").textContent = `waiting on the network: ${
    ms(p.readerWaitMs)
  } · blocked on a full queue: ${ms(p.readerBlockedMs)}`;
  $("writer-text").textContent = `writing: ${
    ms(p.writerWriteMs)
  } · idle on an empty queue: ${ms(p.writerIdleMs)} · waiting on the SHA-256: ${
    ms(p.writerHashWaitMs ?? 0)
  }`;
  $("queue").max = p.queueCapacityBytes || 1;
  $("queue").value = p.queuedBytes;
  // An upload stored before the first tick ends with no capacity known:
  // "0 B of 0 B queued" would claim a queue of none.
  const capacity = p.queueCapacityBytes
    ? ` of ${bytes(p.queueCapacityBytes)}`
    : "";
  $("queue-text").textContent = `${
    bytes(p.queuedBytes)
  }${capacity} queued (most: ${bytes(p.maxQueuedBytes)})`;
  view.previous = p;
}

function drawBar(received, rate, bound) {
  view.received = Math.max(view.received, received);
  $("bar").max = view.total || 1;
  $("bar").value = Math.min(view.received, view.total);
  const parts = [`${bytes(view.received)} of ${bytes(view.total)}`];
  if (rate !== undefined) {
    parts.push(`${bytes(rate)}/s`);
    const left = (view.total - view.received) / Math.max(rate, 1);
    if (rate > 0) parts.push(`${ms(left * 1000)} left`);
  }
  if (bound) parts.push(`${bound}-bound so far`);
  $("figures").textContent = parts.join(" · ");
}

function onEvent(name, data) {
  if (name === "progress") {
    drawBar(data.bytesReceived, data.bytesPerSecond, data.bound);
    drawLanes(data);
  } else if (name === "done") {
    // Drawn once: from the event, or from the answer when the event did not
    // come (drawn twice, the lanes showed no time spent since the first).
    if (view.done) return;
    view.done = true;
    drawBar(data.size);
    // An upload that ran on another instance ends, without REDIS_URL, with
    // the stored file's facts only: no figures to draw.
    if (data.readerWaitMs === undefined) return;
    // The final figures; the queue is empty once the upload is stored.
    const capacity = view.previous ? view.previous.queueCapacityBytes : 0;
    drawLanes({ ...data, queuedBytes: 0, queueCapacityBytes: capacity });
  }
}

// `name`: the picked file's, which a raw upload does not send: the link
// saves under it (a form upload's Content-Disposition would name it).
function showResult(result, name) {
  const bound = {
    write: "write-bound: the storage was the slower side",
    hash: "hash-bound: the SHA-256 was the slower side",
  }[result.bound] ?? "read-bound: the network was the slower side";
  $("verdict").textContent = `Verdict: ${bound}`;
  $("result-id").textContent = result.id;
  $("result-size").textContent = `${result.size} bytes (${bytes(result.size)})`;
  $("result-sha256").textContent = result.sha256;
  $("result-time").textContent = `${ms(result.durationMs)} at ${
    bytes(result.bytesPerSecond)
  }/s`;
  $("download").href = `/files/${result.id}`;
  $("download").download = name;
  $("result-box").hidden = false;
}

// `note`: what the status says besides, after each of its sentences.
async function upload(file, { note = "" } = {}) {
  const id = newUploadId();
  view.total = file.size;
  view.received = 0;
  view.previous = undefined;
  view.done = false;
  $("result-box").hidden = true;
  $("progress-box").hidden = false;
  // Picked from the keyboard: disabling the focused input drops focus to
  // the page's body; Cancel, the one thing to do now, takes it instead.
  const picked = document.activeElement === $("file");
  $("file").disabled = true;
  $("cancel").hidden = false;
  if (picked) $("cancel").focus();
  drawBar(0);
  say(`Uploading ${file.name}…${note}`);
  const cancel = new AbortController();
  let events;
  running = {
    name: file.name,
    abort: () => cancel.abort(),
    stopEvents: () => events?.stop(),
  };
  try {
    events = await watchAny(id, onEvent, cancel.signal).catch((error) => {
      // Cancelled while it waited for a connection.
      if (error.name === "AbortError") throw error;
      if (error.status === 401) {
        // The token is what to type next: the keyboard goes there.
        $("token-box").open = true;
        $("token").focus();
        throw error;
      }
      // Without events (too many watchers), the upload still works.
      return undefined;
    });
    const answer = await send(file, id, (sent) => {
      if (!view.previous) drawBar(sent);
    }, cancel.signal);
    if (answer.status !== 201) {
      // Refused before it began: no event will end the stream.
      events?.stop();
      throw new Error(problemText(answer.status, answer.text));
    }
    // The answer is the done event's data: drawn from it, the page needs
    // no event (a stream of every upload on another instance, without
    // REDIS_URL, hears of none).
    events?.stop();
    const result = JSON.parse(answer.text);
    onEvent("done", result);
    showResult(result, file.name);
    say(`Stored ${file.name}.${note}`);
  } catch (error) {
    if (error.name !== "AbortError") {
      // Lost on the network, the upload may never have reached the
      // service, which then ends no stream: left open, each kept a place.
      events?.stop();
      say(`Upload failed: ${error.message}`);
      return;
    }
    say(`Cancelled ${file.name}.`);
    // The server ends the stream with this upload's failed event; a
    // stream it never answered is stopped after a while.
    await Promise.race([
      events?.ended,
      new Promise((resolve) => setTimeout(resolve, 2000)),
    ]);
    events?.stop();
  } finally {
    running = undefined;
    // Cancel focused (pressed, or given focus as the upload began): focus
    // goes back to the file input rather than to the page's start once the
    // button hides.
    const refocus = document.activeElement === $("cancel");
    $("cancel").hidden = true;
    $("file").disabled = false;
    if (refocus) $("file").focus();
    // So the same file can be picked again.
    $("file").value = "";
  }
}

// One file at a time: of many dropped at once, the first is sent and the
// status says how many were not (they were left out without a word).
// `files`: the ones that can be sent; `given`: how many were dropped.
function start(files, { given = files.length } = {}) {
  if (files.length === 0) return;
  const left = given - 1;
  const note = left === 0
    ? ""
    : ` The other ${left} dropped ${
      left === 1 ? "file was" : "files were"
    } not sent: this page uploads one file at a time.`;
  upload(files[0], { note });
}

// A dropped folder comes as a File that cannot be read: sent, it failed as
// "Upload failed: network error". Folders are left out, and said so when
// nothing else was dropped.
function startDropped(dataTransfer) {
  const given = [...dataTransfer.files];
  const entries = [...dataTransfer.items]
    .filter((item) => item.kind === "file")
    .map((item) => item.webkitGetAsEntry?.());
  const files = given.filter((_, i) => !entries[i]?.isDirectory);
  if (files.length === 0 && given.length > 0) {
    say(`${given[0].name} is a folder: this page uploads files.`);
    return;
  }
  start(files, { given: given.length });
}

addEventListener("DOMContentLoaded", () => {
  const drop = $("drop");
  $("file").addEventListener("change", (e) => start([...e.target.files]));
  $("upload-form").addEventListener("submit", (e) => e.preventDefault());
  $("cancel").addEventListener("click", () => running?.abort());
  // Its script fetched now, while connections are free, not at the upload.
  sharedEvents();
  // Leaving mid-upload: the shared stream stops carrying its events (it
  // closes once no tab watches).
  addEventListener("pagehide", () => running?.stopEvents());
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    // One at a time: a file dropped meanwhile is not kept for later.
    if (!running) startDropped(e.dataTransfer);
    else {say(
        `${running.name} is still uploading: drop the next file once it is done.`,
      );}
  });
});
