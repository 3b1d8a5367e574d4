// What OpenRLHF's reward client puts on the wire, without Python. OpenRLHF's request_api_wrapper
// (openrlhf/utils/remote_rm_utils.py) calls
//   requests.post(url=url, json=data, headers={"Content-Type": "application/json"}, timeout=180)
// and requests 2.28 (Debian bookworm's python3-requests, over urllib3 1.26 and http.client) sends, in one
// write on a fresh keep-alive connection:
//   POST /get_reward HTTP/1.1\r\n
//   Host: 127.0.0.1:8000\r\n
//   User-Agent: python-requests/2.28.1\r\n
//   Accept-Encoding: gzip, deflate\r\n
//   Accept: */*\r\n
//   Connection: keep-alive\r\n
//   Content-Type: application/json\r\n
//   Content-Length: <bytes>\r\n
//   \r\n
//   <json.dumps(data, allow_nan=False) encoded as UTF-8>
// json.dumps's defaults differ from JSON.stringify: ", " and ": " separators, and ensure_ascii, which
// writes every character outside printable ASCII (space to "~") as \uXXXX, UTF-16 surrogate pairs included.
// server.test.ts checks these bytes against the real requests where /usr/bin/python3 has it.
import { connect } from "node:net";

export const REQUESTS_VERSION = "2.28.1";

const SHORT_ESCAPES: Record<number, string> = { 0x22: "\\\"", 0x5c: "\\\\", 0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t", 0x08: "\\b", 0x0c: "\\f" };

function pyString(s: string): string {
  let out = "\"";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += SHORT_ESCAPES[c] ?? (c < 0x20 || c > 0x7e ? "\\u" + c.toString(16).padStart(4, "0") : s[i]);
  }
  return out + "\"";
}

/** Python's repr of a non-integer float: the shortest round-trip digits, in exponent form below 1e-4 and from 1e16. */
function pyFloat(x: number): string {
  const [mantissa, exp] = x.toExponential().split("e");
  const e = Number(exp);
  return e < -4 || e >= 16 ? `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}` : String(x);
}

/** Python's json.dumps(value, allow_nan=False) of a value json.load could have produced. */
export function pyJsonDumps(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "string") return pyString(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`json.dumps(allow_nan=False) refuses ${value}`);
    // json.load reads "3" as int and "3.0" as float; a JS number cannot tell them apart: integers print as ints
    return Number.isInteger(value) ? String(value) : pyFloat(value);
  }
  if (Array.isArray(value)) return "[" + value.map(pyJsonDumps).join(", ") + "]";
  if (typeof value === "object") return "{" + Object.entries(value).map(([k, v]) => pyString(k) + ": " + pyJsonDumps(v)).join(", ") + "}";
  throw new Error(`json.dumps cannot serialise a ${typeof value}`);
}

/** The request bytes of requests.post(url, json=data, headers={"Content-Type": "application/json"}). */
export function requestsPostBytes(url: string, data: unknown): Buffer {
  const u = new URL(url);
  const body = Buffer.from(pyJsonDumps(data), "utf8");
  const head = [
    `POST ${u.pathname}${u.search} HTTP/1.1`,
    `Host: ${u.host}`,
    `User-Agent: python-requests/${REQUESTS_VERSION}`,
    "Accept-Encoding: gzip, deflate",
    "Accept: */*",
    "Connection: keep-alive",
    "Content-Type: application/json",
    `Content-Length: ${body.length}`,
  ].join("\r\n") + "\r\n\r\n";
  return Buffer.concat([Buffer.from(head, "latin1"), body]);
}

export interface WireResponse { status: number; headers: Record<string, string>; body: string }

/** Splits an HTTP/1.1 response once it is complete (by Content-Length, chunks, or the end of the stream when `ended`). */
export function parseResponse(buf: Buffer, ended = false): WireResponse | undefined {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const [statusLine, ...lines] = buf.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  const headers: Record<string, string> = {};
  for (const l of lines) { const i = l.indexOf(":"); headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim(); }
  let rest = buf.subarray(end + 4);
  if (headers["content-length"] !== undefined) {
    const n = Number(headers["content-length"]);
    return rest.length < n ? undefined : { status, headers, body: rest.subarray(0, n).toString("utf8") };
  }
  if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
    const parts: Buffer[] = [];
    for (;;) {
      const eol = rest.indexOf("\r\n");
      if (eol < 0) return undefined;
      const size = parseInt(rest.subarray(0, eol).toString("latin1"), 16);
      if (rest.length < eol + 2 + size + 2) return undefined;
      if (size === 0) return { status, headers, body: Buffer.concat(parts).toString("utf8") };
      parts.push(rest.subarray(eol + 2, eol + 2 + size));
      rest = rest.subarray(eol + 2 + size + 2);
    }
  }
  return ended ? { status, headers, body: rest.toString("utf8") } : undefined;
}

/**
 * Sends requests.post's bytes on a fresh connection and reads the response as requests would: an answer
 * that arrives before the body is fully sent (an early 413) is read, and the failed upload ignored.
 */
export function requestsPost(url: string, data: unknown): Promise<WireResponse> {
  const u = new URL(url);
  const bytes = requestsPostBytes(url, data);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname);
    let buf = Buffer.alloc(0), done = false;
    const finish = (r: WireResponse | undefined, why: string) => {
      if (done) return;
      done = true;
      socket.destroy();
      if (r) resolve(r); else reject(new Error(`${why} before a complete response (${buf.length} bytes read)`));
    };
    socket.on("connect", () => socket.write(bytes));
    socket.on("data", d => { buf = Buffer.concat([buf, d]); const r = parseResponse(buf); if (r) finish(r, ""); });
    socket.on("end", () => finish(parseResponse(buf, true), "the connection closed"));
    // EPIPE/ECONNRESET while the body is still going out: the server answered early; keep what it said
    socket.on("error", e => finish(parseResponse(buf, true), e.message));
  });
}
