// The upload page's queue: the files picked or dropped at once are sent to
// POST /files as many at a time as the browser can run, the others
// waiting their turn; each is listed as waiting, then progressing, with a
// Cancel of its own, and the panel draws the reader and the writer of the
// earliest one running. Served last of the page's script, after
// event_stream.js, upload_view.js and upload_net.js
// (routes/files/upload_page.ts).
"use strict";

// Uploads running at once. Over HTTP/1.1 chromium opens at most 6
// connections to an origin and queues the rest unseen: a sixth upload sent
// from the page waited with no sign. With the shared event stream, 4
// uploads leave a connection for the page's other requests (a download,
// another tab's upload); with a stream per upload (no shared worker) each
// holds 2. HTTP/2 and 3 carry every request on one connection.
async function uploadsAtOnce() {
  const [navigation] = performance.getEntriesByType("navigation");
  if (/^h[23]/.test(navigation?.nextHopProtocol ?? "")) return 6;
  return (await sharedEvents()) ? 4 : 2;
}

// The files being sent, { jobs, note }, or undefined between batches.
let batch;
// The job the panel shows: the earliest one running, or the last one.
let shown;

function newJob(file) {
  return {
    file,
    id: newUploadId(),
    state: "waiting",
    total: file.size,
    received: 0,
    cancel: new AbortController(),
  };
}

// What the status says of the one file of a batch, by its state.
const SAID = {
  waiting: (job) => `Uploading ${job.file.name}…${batch.note}`,
  running: (job) => `Uploading ${job.file.name}…${batch.note}`,
  stored: (job) => `Stored ${job.file.name}.${batch.note}`,
  cancelled: (job) => `Cancelled ${job.file.name}.`,
  failed: (job) => `Upload failed: ${job.error}`,
};

// Said once per change: a live region reads each change aloud.
function sayJob(job) {
  if (batch.jobs.length !== 1) return;
  const text = SAID[job.state](job);
  if (job.said === text) return;
  job.said = text;
  say(text);
}

function drawJob(job) {
  drawRow(job);
  if (job === shown) drawPanel(job);
  sayJob(job);
}

function show(job) {
  shown = job;
  const many = batch.jobs.length > 1;
  $("progress-title").textContent = many
    ? `Progress: ${job.file.name}`
    : "Progress";
  drawPanel(job);
}

function onJobEvent(job, name, data) {
  if (name === "progress") {
    job.received = Math.max(job.received, data.bytesReceived);
    job.rate = data.bytesPerSecond;
    job.bound = data.bound;
    job.before = job.lanes;
    job.lanes = data;
  } else if (name === "done") {
    // Drawn once: from the event, or from the answer when the event did not
    // come (drawn twice, the lanes showed no time spent since the first).
    if (job.done) return;
    job.done = true;
    job.received = Math.max(job.received, data.size);
    job.rate = undefined;
    job.bound = undefined;
    // An upload that ran on another instance ends, without REDIS_URL, with
    // the stored file's facts only: no figures to draw.
    if (data.readerWaitMs !== undefined) {
      // The final figures; the queue is empty once the upload is stored.
      const capacity = job.lanes?.queueCapacityBytes ?? 0;
      job.before = job.lanes;
      job.lanes = { ...data, queuedBytes: 0, queueCapacityBytes: capacity };
    }
  }
  drawJob(job);
}

// The job's events, or undefined without them (too many watchers: the
// upload still works); throws when cancelled, or refused for its token.
function jobEvents(job) {
  const onEvent = (name, data) => onJobEvent(job, name, data);
  return watchAny(job.id, onEvent, job.cancel.signal).catch((error) => {
    if (error.name === "AbortError") throw error;
    if (error.status === 401) {
      // The token is what to type next: the keyboard goes there.
      $("token-box").open = true;
      $("token").focus();
      throw error;
    }
    return undefined;
  });
}

async function runJob(job) {
  job.state = "running";
  if (shown?.state !== "running") show(job);
  drawJob(job);
  try {
    job.events = await jobEvents(job);
    const answer = await send(job.file, job.id, (sent) => {
      if (job.lanes) return;
      job.received = Math.max(job.received, sent);
      drawJob(job);
    }, job.cancel.signal);
    // Refused before it began: no event will end the stream. Stored: the
    // answer is the done event's data, and the page needs no event (a
    // stream of every upload on another instance, without REDIS_URL,
    // hears of none).
    job.events?.stop();
    if (answer.status !== 201) {
      throw new Error(problemText(answer.status, answer.text));
    }
    const result = JSON.parse(answer.text);
    onJobEvent(job, "done", result);
    showResult(result, job.file.name);
    job.state = "stored";
    linkRow(job, result);
  } catch (error) {
    if (error.name !== "AbortError") {
      // Lost on the network, the upload may never have reached the
      // service, which then ends no stream: left open, each kept a place.
      job.events?.stop();
      job.error = error.message;
      job.state = "failed";
      return;
    }
    job.state = "cancelled";
    drawJob(job);
    // The server ends the stream with this upload's failed event; a
    // stream it never answered is stopped after a while.
    await Promise.race([
      job.events?.ended,
      new Promise((resolve) => setTimeout(resolve, 2000)),
    ]);
    job.events?.stop();
  } finally {
    drawJob(job);
    const next = batch.jobs.find((other) => other.state === "running");
    if (job === shown && next) show(next);
  }
}

// The status at the end of a batch of many files.
function summary(jobs) {
  const count = (state) => jobs.filter((job) => job.state === state).length;
  const stored = count("stored");
  if (stored === jobs.length) return `Stored ${stored} files.${batch.note}`;
  const parts = [`Stored ${stored} of ${jobs.length} files`];
  const cancelled = count("cancelled");
  if (cancelled > 0) parts.push(`${cancelled} cancelled`);
  const failed = jobs.filter((job) => job.state === "failed");
  if (failed.length > 0) {
    parts.push(`${failed.length} failed (${failed[0].error})`);
  }
  return `${parts.join("; ")}.${batch.note}`;
}

// Marks the batch started: the picker off, Cancel shown (and focused if
// the file was picked from the keyboard: disabling the focused input drops
// focus to the page's body), a row per file when there are many.
function begin(jobs) {
  $("result-box").hidden = true;
  $("progress-box").hidden = false;
  const picked = document.activeElement === $("file");
  $("file").disabled = true;
  $("cancel").textContent = jobs.length > 1 ? "Cancel all" : "Cancel upload";
  $("cancel").hidden = false;
  if (picked) $("cancel").focus();
  $("files")?.replaceChildren();
  if ($("files-box")) $("files-box").hidden = jobs.length === 1;
  for (const job of jobs) {
    if (jobs.length > 1) addRow(job, () => job.cancel.abort());
    // Cancelled while it waits its turn: it never starts.
    job.cancel.signal.addEventListener("abort", () => {
      if (job.state !== "waiting") return;
      job.state = "cancelled";
      drawJob(job);
    });
  }
  show(jobs[0]);
  for (const job of jobs) drawJob(job);
}

function end() {
  // Cancel or a row focused: focus goes back to the file input rather
  // than to the page's start once they hide.
  const focused = document.activeElement;
  const refocus = focused === $("cancel") ||
    Boolean(focused?.closest?.("#files"));
  batch = undefined;
  $("cancel").hidden = true;
  $("file").disabled = false;
  if (refocus) $("file").focus();
  // So the same files can be picked again.
  $("file").value = "";
}

// Sends `files`, at most uploadsAtOnce() at a time. `note`: what the
// status says besides, after each of its sentences.
async function runBatch(files, { note = "" } = {}) {
  const jobs = files.map(newJob);
  batch = { jobs, note };
  begin(jobs);
  try {
    const limit = await uploadsAtOnce();
    if (jobs.length > 1) {
      say(
        `Uploading ${jobs.length} files, ${limit} at a time: the others ` +
          `wait their turn.${note}`,
      );
    }
    let next = 0;
    const lane = async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        if (job.state === "waiting") await runJob(job);
      }
    };
    const lanes = Array.from({ length: Math.min(limit, jobs.length) }, lane);
    await Promise.all(lanes);
    if (jobs.length > 1) say(summary(jobs));
  } finally {
    end();
  }
}

// A dropped folder comes as a File that cannot be read: sent, it failed as
// "Upload failed: network error". Folders are left out, and said so.
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
  const left = given.length - files.length;
  const note = left === 0
    ? ""
    : ` ${left} dropped ${
      left === 1 ? "folder was" : "folders were"
    } not sent: this page uploads files.`;
  runBatch(files, { note });
}

addEventListener("DOMContentLoaded", () => {
  const drop = $("drop");
  $("file").addEventListener("change", (e) => {
    if (e.target.files.length > 0) runBatch([...e.target.files]);
  });
  $("upload-form").addEventListener("submit", (e) => e.preventDefault());
  $("cancel").addEventListener("click", () => {
    for (const job of batch?.jobs ?? []) job.cancel.abort();
  });
  // Its script fetched now, while connections are free, not at the upload.
  sharedEvents();
  // Leaving mid-upload: the shared stream stops carrying its events (it
  // closes once no tab watches).
  addEventListener("pagehide", () => {
    for (const job of batch?.jobs ?? []) job.events?.stop();
  });
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    // One batch at a time: a file dropped meanwhile is not kept for later.
    if (!batch) startDropped(e.dataTransfer);
    else if (batch.jobs.length === 1) {
      say(
        `${
          batch.jobs[0].file.name
        } is still uploading: drop the next file once it is done.`,
      );
    } else say("The files are still uploading: drop the next once they are.");
  });
});
