// The upload page's drawing: figures in words, the panel of the upload it
// shows (its bar, the reader's and the writer's lanes, the stored file)
// and the list of the files of a batch, a row each. Served as one script
// with event_stream.js and upload.js (routes/files/upload_page.ts).
// deno-lint-ignore-file no-unused-vars
"use strict";

const $ = (id) => document.getElementById(id);
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];
const NO_TIME = {
  readerWaitMs: 0,
  readerBlockedMs: 0,
  writerWriteMs: 0,
  writerIdleMs: 0,
  writerHashWaitMs: 0,
  queuedBytes: 0,
  queueCapacityBytes: 0,
  maxQueuedBytes: 0,
};

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

function setWidth(id, share) {
  $(id).style.width = `${Math.round(share * 100)}%`;
}

// The bars show how the time between the job's last two figures was spent.
function drawLanes(p, before) {
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
}

// The panel, from `job`: { total, received, rate, bound, lanes, before }.
function drawPanel(job) {
  $("bar").max = job.total || 1;
  $("bar").value = Math.min(job.received, job.total);
  const parts = [`${bytes(job.received)} of ${bytes(job.total)}`];
  if (job.rate !== undefined) {
    parts.push(`${bytes(job.rate)}/s`);
    const left = (job.total - job.received) / Math.max(job.rate, 1);
    if (job.rate > 0) parts.push(`${ms(left * 1000)} left`);
  }
  if (job.bound) parts.push(`${job.bound}-bound so far`);
  $("figures").textContent = parts.join(" · ");
  if (job.lanes) drawLanes(job.lanes, job.before ?? NO_TIME);
  else drawLanes(NO_TIME, NO_TIME);
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

// The list of a batch's files, made here rather than in the page: a page
// of an older release served with this script (a rolling upgrade) has
// none, and still works.
function filesList() {
  let list = $("files");
  if (list) return list;
  const box = document.createElement("section");
  box.id = "files-box";
  box.setAttribute("aria-labelledby", "files-title");
  const title = document.createElement("h2");
  title.id = "files-title";
  title.textContent = "Files";
  list = document.createElement("ol");
  list.id = "files";
  list.className = "files";
  box.append(title, list);
  $("status").after(box);
  return list;
}

// A row of the list for `job`, its Cancel calling `onCancel`.
function addRow(job, onCancel) {
  const li = document.createElement("li");
  const name = document.createElement("span");
  name.className = "file-name";
  name.textContent = job.file.name;
  const bar = document.createElement("progress");
  bar.max = 1;
  bar.value = 0;
  bar.setAttribute("aria-label", job.file.name);
  const state = document.createElement("span");
  state.className = "file-state";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.textContent = "Cancel";
  cancel.setAttribute("aria-label", `Cancel ${job.file.name}`);
  cancel.addEventListener("click", onCancel);
  li.append(name, bar, state, cancel);
  filesList().append(li);
  job.row = { li, bar, state, cancel };
}

const STATES = {
  waiting: () => "waiting",
  stored: () => "stored",
  cancelled: () => "cancelled",
  failed: (job) => `failed: ${job.error}`,
};

// Its row, where `job` has one: waiting until bytes move (queued, or
// sent while chromium has no connection to give it), then progressing.
function drawRow(job) {
  if (!job.row) return;
  const { bar, state, cancel } = job.row;
  bar.max = job.total || 1;
  bar.value = Math.min(job.received, job.total);
  const moving = job.state === "running" && job.received > 0;
  state.textContent = moving
    ? `${bytes(job.received)} of ${bytes(job.total)}`
    : (STATES[job.state] ?? STATES.waiting)(job);
  const over = job.state !== "waiting" && job.state !== "running";
  if (over && cancel.contains(document.activeElement)) {
    // Hidden, it would drop the keyboard to the page's start.
    ($("cancel").hidden ? $("file") : $("cancel")).focus();
  }
  cancel.hidden = over;
}

// The stored file's link in its row, saved under the picked file's name.
function linkRow(job, result) {
  if (!job.row) return;
  const link = document.createElement("a");
  link.href = `/files/${result.id}`;
  link.download = job.file.name;
  link.textContent = "Download";
  link.setAttribute("aria-label", `Download ${job.file.name}`);
  job.row.li.append(link);
}
