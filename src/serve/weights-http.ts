/**
 * The wire format of weights over HTTP (POST /v1/weights on `move37 serve`), both ends: the body is a safetensors
 * file (F32; metadata move37_kind "model" or "lora_adapter", see weights-apply.ts), streamed; the headers carry its
 * sha256 and the policy version it is. The server writes the body to a temporary folder while hashing it, and
 * hands it to the generator thread only when it arrived whole (Content-Length, when sent) and the hash matches:
 * a refused or broken upload leaves the old weights serving. Every completion then reports `policy_version`.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { ApiError } from "./errors.js";
import { WEIGHTS_FILE } from "./weights-apply.js";

export const WEIGHTS_VERSION_HEADER = "x-move37-weights-version";
export const WEIGHTS_SHA256_HEADER = "x-move37-weights-sha256";
export const POLICY_VERSION_HEADER = "x-move37-policy-version";

export interface Received { version: number; sha256: string; bytes: number }

/** Receives a push; `apply(dir, version)` swaps it in (resolving with the version now served). */
export async function receiveWeights(req: Request, apply: (dir: string, version: number) => Promise<number>): Promise<Received> {
  const versionText = req.headers.get(WEIGHTS_VERSION_HEADER), want = req.headers.get(WEIGHTS_SHA256_HEADER)?.toLowerCase();
  const version = Number(versionText);
  if (versionText === null || !Number.isSafeInteger(version) || version < 0)
    throw new ApiError(400, `POST /v1/weights needs header ${WEIGHTS_VERSION_HEADER}: the policy version (a non-negative integer), got ${JSON.stringify(versionText)}`, WEIGHTS_VERSION_HEADER);
  if (!want || !/^[0-9a-f]{64}$/.test(want))
    throw new ApiError(400, `POST /v1/weights needs header ${WEIGHTS_SHA256_HEADER}: the body's sha256 as 64 hex digits`, WEIGHTS_SHA256_HEADER);
  const lengthText = req.headers.get("content-length");
  const dir = mkdtempSync(join(tmpdir(), "move37-push-"));
  try {
    const hash = createHash("sha256");
    let bytes = 0;
    const out = createWriteStream(join(dir, WEIGHTS_FILE));
    const closed = new Promise<void>((ok, fail) => { out.on("close", ok); out.on("error", fail); });
    try {
      if (!req.body) throw new ApiError(400, "POST /v1/weights has no body: send the safetensors file");
      for await (const chunk of req.body as unknown as AsyncIterable<Uint8Array>) {
        hash.update(chunk); bytes += chunk.length;
        if (!out.write(chunk)) await new Promise<void>(ok => out.once("drain", () => ok()));
      }
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw new ApiError(400, `the weights upload broke after ${bytes} bytes (${(e as Error).message}): the old weights (version served before) stay; push again`);
    } finally {
      out.end();
      await closed;
    }
    if (lengthText !== null && Number(lengthText) !== bytes)
      throw new ApiError(400, `the weights upload ended after ${bytes} of ${lengthText} bytes: the old weights stay; push again`);
    const got = hash.digest("hex");
    if (got !== want) throw new ApiError(400, `checksum mismatch: the body's sha256 is ${got}, header ${WEIGHTS_SHA256_HEADER} says ${want}; the weights were refused and the old ones stay (push again)`, WEIGHTS_SHA256_HEADER);
    let served: number;
    try {
      served = await apply(dir, version);
    } catch (e) {
      throw new ApiError(400, `pushed weights refused: ${(e as Error).message}`);
    }
    return { version: served, sha256: got, bytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The served weights as safetensors bytes, via `dump(file)` on the generator thread. */
export async function dumpServed(dump: (file: string) => Promise<number>): Promise<{ bytes: Uint8Array; version: number }> {
  const dir = mkdtempSync(join(tmpdir(), "move37-dump-"));
  try {
    const version = await dump(join(dir, WEIGHTS_FILE));
    return { bytes: readFileSync(join(dir, WEIGHTS_FILE)), version };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** sha256 of a file, streamed. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export interface PushAnswer { status: number; body: string }

/**
 * The client side: streams `file` to `url` (…/v1/weights) with its sha256 and version and resolves with the
 * server's answer (any status). `sha256` overrides the header (tests of the refusal).
 */
export async function pushWeightsFile(url: string, file: string, version: number, o: { timeoutMs: number; apiKey?: string; sha256?: string }): Promise<PushAnswer> {
  const sha = o.sha256 ?? await fileSha256(file);
  const size = statSync(file).size;
  const u = new URL(url);
  return new Promise<PushAnswer>((ok, fail) => {
    const req = (u.protocol === "https:" ? httpsRequest : httpRequest)(u, {
      method: "POST", timeout: o.timeoutMs,
      headers: { "content-type": "application/octet-stream", "content-length": size, [WEIGHTS_VERSION_HEADER]: String(version), [WEIGHTS_SHA256_HEADER]: sha,
        ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}) },
    }, res => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", d => { body += d; });
      res.on("end", () => ok({ status: res.statusCode ?? 0, body }));
      res.on("error", fail);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${o.timeoutMs} ms`)));
    req.on("error", fail);
    const src = createReadStream(file);
    src.on("error", e => req.destroy(e));
    src.pipe(req);
  });
}
