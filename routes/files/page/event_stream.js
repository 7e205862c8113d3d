// The one copy of the upload page's event-stream reader. The service
// serves it at the start of both scripts that read a stream
// (/assets/upload.js, the tab's own stream, and /assets/upload_events.js,
// the shared worker's; routes/files/upload_page.ts), not as a script of
// its own: each stays one self-contained file, so a page or worker of one
// release never loads a parser from another (during a rolling upgrade, or
// from a cache).
"use strict";

// Reads the event stream `body` until it ends, calling onEvent(name, data)
// for each event with data (the server's data lines are JSON).
// deno-lint-ignore no-unused-vars
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
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
