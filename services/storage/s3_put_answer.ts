/**
 * The store's answer to a PUT of bytes (`s3_put_bytes.ts`), read off the
 * connection the PUT went out on: an HTTP/1.1 status line and header
 * fields, then a body framed by `Content-Length`, by chunked coding, or by
 * the connection's close. The PUT asks for `Connection: close`, so the
 * answer is the last thing on the connection; a part's answer is small
 * (an ETag, or S3's XML error document), and only its first
 * {@linkcode MAX_ANSWER_BYTES} are kept.
 *
 * Reads are one at a time and survive a wait given up: the PUT waits a
 * second for `100 Continue` ({@linkcode AnswerReader.head} with `waitMs`),
 * and a read still pending then is the one the next call goes on with.
 *
 * @module
 */

import { concat } from "../http/bytes_concat.ts";
/** Longest answer body kept: S3's error documents are small. */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** Longest head (status line and fields) taken from a store. */
const MAX_HEAD_BYTES = 64 * 1024;

/** A status line and header fields, as read. */
export interface AnswerHead {
  status: number;
  headers: Headers;
}

/** What the store answered to a PUT of bytes. */
export interface PutAnswer extends AnswerHead {
  /** The answer's body as text (S3's XML error document, if any). */
  text: string;
}

const CRLF2 = new Uint8Array([13, 10, 13, 10]);

/** Where `needle` starts in `haystack`, from `from`; -1 if nowhere. */
function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i <= haystack.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}

/** The answer on one connection, read as it comes. */
export class AnswerReader {
  readonly #conn: Deno.Conn;
  #buffered: Uint8Array = new Uint8Array(0);
  #ended = false;
  #failure: { error: unknown } | undefined;
  // The read under way, kept when a wait for it was given up.
  #pending: Promise<void> | undefined;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /**
   * The next head on the connection (an interim `100 Continue` is one),
   * or `undefined` when `waitMs` passed first (the read goes on).
   */
  async head(waitMs = Infinity): Promise<AnswerHead | undefined> {
    const deadline = Date.now() + waitMs;
    let end;
    while ((end = indexOf(this.#buffered, CRLF2)) < 0) {
      if (this.#ended) throw new TypeError("The store closed before answering");
      if (this.#buffered.byteLength > MAX_HEAD_BYTES) {
        throw new TypeError("The store's answer head is too long");
      }
      if (!(await this.#more(deadline - Date.now()))) return undefined;
    }
    const lines = new TextDecoder().decode(this.#buffered.subarray(0, end))
      .split("\r\n");
    this.#buffered = this.#buffered.subarray(end + 4);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!)?.[1]);
    if (!status) throw new TypeError(`Not an HTTP answer: ${lines[0]}`);
    const headers = new Headers();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) {
        headers.append(line.slice(0, colon).trim(), line.slice(colon + 1));
      }
    }
    return { status, headers };
  }

  /** The body of the answer `head` (as text), up to the kept bytes. */
  async body(head: AnswerHead): Promise<string> {
    const { status, headers } = head;
    if (status === 204 || status === 304) return "";
    const length = headers.get("content-length");
    const chunked = /chunked/i.test(headers.get("transfer-encoding") ?? "");
    const bytes = chunked
      ? await this.#chunked()
      : await this.#upTo(length === null ? Infinity : Number(length));
    return new TextDecoder().decode(bytes.subarray(0, MAX_ANSWER_BYTES));
  }

  /** `n` bytes, or those until the close; at most the kept bytes held. */
  async #upTo(n: number): Promise<Uint8Array> {
    while (this.#buffered.byteLength < n && !this.#ended) {
      if (this.#buffered.byteLength > MAX_ANSWER_BYTES) break;
      await this.#more(Infinity);
    }
    const taken = this.#buffered.subarray(0, Math.min(n, MAX_ANSWER_BYTES));
    this.#buffered = this.#buffered.subarray(taken.byteLength);
    return taken;
  }

  /** A chunked body, decoded; its trailer fields are not read. */
  async #chunked(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let kept = 0;
    while (kept <= MAX_ANSWER_BYTES) {
      let eol;
      while ((eol = indexOf(this.#buffered, CRLF2.subarray(0, 2))) < 0) {
        if (this.#ended || this.#buffered.byteLength > 1024) {
          return concat(parts);
        }
        await this.#more(Infinity);
      }
      const line = new TextDecoder().decode(this.#buffered.subarray(0, eol));
      const size = parseInt(line, 16);
      this.#buffered = this.#buffered.subarray(eol + 2);
      if (!(size > 0)) break;
      const chunk = await this.#upTo(size);
      parts.push(chunk);
      kept += chunk.byteLength;
      if (chunk.byteLength < size) break; // cut off, or past the kept bytes
      await this.#upTo(2); // the chunk's CRLF
    }
    return concat(parts);
  }

  /** Reads more; false if `waitMs` passed first (the read goes on). */
  async #more(waitMs: number): Promise<boolean> {
    if (this.#failure) throw this.#failure.error;
    const reading = this.#pending ??= this.#read();
    if (waitMs === Infinity) {
      await reading;
      return true;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, waitMs));
    });
    try {
      return await Promise.race([reading.then(() => true), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #read(): Promise<void> {
    const into = new Uint8Array(16 * 1024);
    let n: number | null;
    try {
      n = await this.#conn.read(into);
    } catch (error) {
      // A TLS peer that closes without close_notify ends the answer too
      // (framed by the close); anything else is the connection failing.
      if (!(error instanceof Deno.errors.UnexpectedEof)) {
        this.#failure = { error };
        throw error;
      }
      n = null;
    } finally {
      this.#pending = undefined;
    }
    if (n === null) {
      this.#ended = true;
      return;
    }
    this.#buffered = concat([this.#buffered, into.subarray(0, n)]);
  }
}
