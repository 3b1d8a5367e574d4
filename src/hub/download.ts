// Downloads a model's files or a dataset's data files into the Hugging Face cache layout (see cache.ts), so that
// transformers and datasets find Move37's downloads and Move37 finds theirs.
//
// @huggingface/hub answers the API: the commit a revision points at (modelInfo/datasetInfo) and the file list at that
// commit (listFiles, paginated). The files themselves go through our own fetch of the hub's resolve route, because
// its downloadFileToCacheDir neither resumes, nor checks hashes, nor writes refs/, nor reports progress, and files
// each file under the snapshot of the last commit that touched it rather than the revision's commit.
//
// Per file, as huggingface_hub does: HEAD {endpoint}/[datasets/]{repo}/resolve/{sha}/{path}, following redirects on
// the same host only (small files: a 307 to /api/resolve-cache/…; renamed repos); X-Linked-Etag (LFS: sha256) or ETag (git blob sha1) names
// the blob, X-Repo-Commit must be the commit asked, X-Linked-Size or Content-Length is the size; a 302 to a CDN
// is downloaded from its Location without the Authorization header. The bytes go to blobs/<etag>.incomplete,
// resumed with `Range: bytes=<have>-` after a cut, checked against the etag, renamed to blobs/<etag>, and linked
// from snapshots/<sha>/<path> by a relative symlink.
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { datasetInfo, HubApiError, listFiles, modelInfo, type ListFileEntry } from "@huggingface/hub";
import { cardDataFiles, datasetFilesFor, isModelFile, repoFolder, repoFolderName } from "./cache.js";
import { withLock } from "./lock.js";
import { hubEnv, type HubEnv } from "./env.js";
import { HubChecksumError, HubDownloadError, HubError, HubGatedError, HubNotFoundError, HubOfflineError } from "./errors.js";
import { formatHubId, type HubId } from "./id.js";
import { createDownloadProgress, silentProgress, type DownloadProgress } from "./progress.js";

export interface DownloadOptions {
  env?: HubEnv;
  /** defaults to bars on stderr; `false` for none */
  progress?: DownloadProgress | false;
  /** attempts per file before giving up on cuts (each attempt resumes where the last stopped) */
  maxAttempts?: number;
  /** the fetch used for the resolve route and the CDN (tests, proxies) */
  fetch?: typeof fetch;
}

export interface DownloadResult {
  /** snapshots/<sha>/ */
  dir: string;
  sha: string;
  /** the files of the snapshot this call made sure of (repo paths) */
  files: string[];
  /** those fetched now (not already in the cache) */
  downloaded: string[];
  bytes: number;
}

/** Files that transformers probes and Move37 reads when present; recorded under .no_exist/ when the repo lacks them. */
const OPTIONAL_MODEL_FILES = ["generation_config.json", "chat_template.jinja", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"];

/** API requests one download may make (the file list comes in pages of 1,000 entries on huggingface.co). */
const MAX_API_CALLS = 1000;

/** Why a fetch failed: undici's cause (ECONNREFUSED, ENOTFOUND, "bad port", a body timeout), else the message. */
const causeOf = (e: unknown) => {
  const c = (e as { cause?: { code?: string; message?: string } }).cause;
  return c?.code ?? c?.message ?? (e as Error).message;
};

const what = (id: HubId) => `${id.kind} ${formatHubId(id)}`;
const urlPrefix = (id: HubId) => (id.kind === "dataset" ? "datasets/" : "");
const encodePath = (p: string) => p.split("/").map(encodeURIComponent).join("/");
const normEtag = (e: string | null) => (e ? e.replace(/^W\//, "").replace(/^"|"$/g, "") : null);

/** A failed API call of @huggingface/hub as one of our named errors. */
function apiError(e: unknown, id: HubId, env: HubEnv): Error {
  if (!(e instanceof HubApiError)) {
    const cause = causeOf(e);
    return new HubDownloadError(`cannot reach ${env.endpoint} for ${what(id)} (${cause}); check the network (or HF_ENDPOINT), or set HF_HUB_OFFLINE=1 to use the cache only`);
  }
  const msg = e.message.split(". URL:")[0];
  if ((e.statusCode === 401 || e.statusCode === 403) && /gated|restricted|access to|licen[cs]e|authorized list/i.test(msg)) return new HubGatedError(what(id), e.url, e.statusCode, env.token !== undefined);
  if (e.statusCode === 404 && /\brev(ision)?\b/i.test(msg))
    return new HubNotFoundError(`${what(id)}: the hub has no revision "${id.revision}" of ${id.repo} (${msg}); give a branch, tag or commit sha that exists (see the repo's "Files and versions" tab)`);
  if (e.statusCode === 401 || e.statusCode === 403 || e.statusCode === 404)
    return new HubNotFoundError(`${what(id)}: no such ${id.kind} repo on ${env.endpoint} (HTTP ${e.statusCode}: ${msg}); check the spelling of owner/name${env.token ? "" : ", or if it is private set HF_TOKEN to a token that can read it"}${id.kind === "model" ? "; a dataset needs --dataset" : ""}`);
  return new HubDownloadError(`${what(id)}: the hub answered HTTP ${e.statusCode} (${msg}); try again later`);
}

/** A failed request on the resolve route (headers carry X-Error-Code, as the hub sends them). */
function resolveError(res: Response, id: HubId, path: string, env: HubEnv): Error {
  const code = res.headers.get("x-error-code") ?? "";
  const message = res.headers.get("x-error-message") ?? "";
  if (code === "GatedRepo" || ((res.status === 401 || res.status === 403) && /gated|restricted/i.test(message))) return new HubGatedError(what(id), res.url, res.status, env.token !== undefined);
  if (code === "RevisionNotFound") return new HubNotFoundError(`${what(id)}: the hub has no revision "${id.revision}" (${message || `HTTP ${res.status}`}); give a branch, tag or commit sha that exists`);
  if (code === "EntryNotFound") return new HubNotFoundError(`${what(id)}: the hub has no file ${path} at this revision (${message || `HTTP ${res.status}`})`);
  if (code === "RepoNotFound" || res.status === 401 || res.status === 404)
    return new HubNotFoundError(`${what(id)}: no such repo on ${env.endpoint} (HTTP ${res.status}${message ? `: ${message}` : ""}); check the spelling${env.token ? "" : ", or set HF_TOKEN if it is private"}`);
  return new HubDownloadError(`${what(id)}: ${path}: HTTP ${res.status} from ${res.url}${message ? ` (${message})` : ""}; try again later`);
}

interface FileMeta {
  etag: string;
  size: number;
  /** where the bytes are fetched (the resolve URL, or the CDN a 302 pointed at) */
  url: string;
  /** whether the Authorization header goes along (not to another host) */
  sameOrigin: boolean;
}

/** HEAD on the resolve route, following relative redirects only (at most 5), as huggingface_hub's get_hf_file_metadata. */
async function fileMeta(id: HubId, sha: string, path: string, env: HubEnv, doFetch: typeof fetch, headers: Record<string, string>): Promise<FileMeta> {
  let url = `${env.endpoint}/${urlPrefix(id)}${id.repo}/resolve/${sha}/${encodePath(path)}`;
  const origin = new URL(env.endpoint).origin;
  for (let hop = 0; hop < 6; hop++) {
    let res: Response;
    try {
      res = await doFetch(url, { method: "HEAD", redirect: "manual", headers: { ...headers, "Accept-Encoding": "identity" } });
    } catch (e) {
      throw new HubDownloadError(`${what(id)}: cannot reach ${url} (${causeOf(e)}); check the network, or set HF_HUB_OFFLINE=1 to use the cache only`);
    }
    if (res.status >= 400) throw resolveError(res, id, path, env);
    const location = res.headers.get("location");
    const isRedirect = res.status >= 300 && res.status < 400 && location !== null;
    // Same host (a relative Location: small files go to /api/resolve-cache/…, renamed repos to their new name): follow.
    // Another host (the CDN of LFS and Xet files): stop, the metadata is on this response, the bytes over there.
    if (isRedirect && new URL(location!, url).origin === new URL(url).origin) {
      url = new URL(location!, url).toString();
      continue;
    }
    const etag = normEtag(res.headers.get("x-linked-etag") ?? res.headers.get("etag"));
    if (etag && !/^[A-Za-z0-9._-]+$/.test(etag)) throw new HubDownloadError(`${what(id)}: ${url} sent the ETag "${etag}", which cannot name a file in the cache`);
    if (!etag) throw new HubDownloadError(`${what(id)}: ${url} sent no ETag, so the file cannot be named in the cache or checked; is HF_ENDPOINT a Hugging Face hub?`);
    const commit = res.headers.get("x-repo-commit");
    if (commit && commit !== sha) throw new HubDownloadError(`${what(id)}: ${path} was answered for commit ${commit} while ${sha} was asked; try again (the branch moved)`);
    const size = Number(res.headers.get("x-linked-size") ?? res.headers.get("content-length"));
    if (!Number.isFinite(size)) throw new HubDownloadError(`${what(id)}: ${url} sent no size (X-Linked-Size or Content-Length)`);
    const target = isRedirect ? new URL(location!, url).toString() : url;
    return { etag, size, url: target, sameOrigin: new URL(target).origin === origin };
  }
  throw new HubDownloadError(`${what(id)}: ${path}: more than 5 redirects from ${env.endpoint}`);
}

/** sha256 (64 hex: LFS files) or git's blob sha1 (40 hex: files kept in git) of a file; null for other etags (xet). */
function hashFile(file: string, etag: string): string | null {
  const size = statSync(file).size;
  let h;
  if (/^[0-9a-f]{64}$/.test(etag)) h = createHash("sha256");
  else if (/^[0-9a-f]{40}$/.test(etag)) h = createHash("sha1").update(`blob ${size}\0`);
  else return null;
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

/** GETs `meta.url` into `incomplete`, resuming with Range after each cut, at most maxAttempts requests. */
async function fetchBytes(id: HubId, path: string, meta: FileMeta, incomplete: string, env: HubEnv, doFetch: typeof fetch, headers: Record<string, string>, progress: DownloadProgress, maxAttempts: number): Promise<void> {
  const have = () => (existsSync(incomplete) ? statSync(incomplete).size : 0);
  if (have() > meta.size) truncateSync(incomplete, 0);
  const bar = progress.file(path, meta.size, have());
  let lastError = "";
  for (let attempt = 1; attempt <= maxAttempts && have() < meta.size; attempt++) {
    const start = have();
    const h: Record<string, string> = { "Accept-Encoding": "identity", ...(meta.sameOrigin ? headers : {}) };
    if (start > 0) h.Range = `bytes=${start}-`;
    let res: Response;
    try {
      res = await doFetch(meta.url, { headers: h });
    } catch (e) {
      lastError = causeOf(e);
      bar.log(`${path}: request failed (${lastError}); retrying (${attempt}/${maxAttempts})`);
      continue;
    }
    if (res.status === 416) { // nothing left past `start`: the server holds fewer bytes than we do
      await res.body?.cancel();
      truncateSync(incomplete, 0);
      lastError = "HTTP 416 on resume";
      continue;
    }
    if (res.status === 429 || res.status >= 500) { // busy or failing for a moment: wait, then try again
      await res.body?.cancel();
      lastError = `HTTP ${res.status}`;
      bar.log(`${path}: HTTP ${res.status} from ${new URL(meta.url).host}; retrying (${attempt}/${maxAttempts})`);
      await new Promise(r => setTimeout(r, Math.min(8000, 250 * 2 ** attempt)));
      continue;
    }
    if (res.status >= 400) throw resolveError(res, id, path, env);
    let pos = start;
    if (res.status === 200 && start > 0) pos = 0; // the server ignored Range: start over
    const fd = openSync(incomplete, pos === 0 ? "w" : "r+");
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        writeSync(fd, chunk, 0, chunk.length, pos);
        pos += chunk.length;
        bar.update(pos);
      }
    } catch (e) {
      lastError = causeOf(e);
      bar.log(`${path}: connection cut at ${pos} of ${meta.size} bytes (${lastError}); resuming (${attempt}/${maxAttempts})`);
    } finally {
      closeSync(fd);
    }
    if (pos > meta.size) truncateSync(incomplete, 0);
  }
  const got = have();
  if (got !== meta.size) {
    throw new HubDownloadError(`${what(id)}: ${path}: ${got} of ${meta.size} bytes after ${maxAttempts} attempts (${lastError || "the server sent too little"}); run the command again to resume from ${incomplete}`);
  }
  bar.done();
}

/** The files of `entries` a model needs: config, tokenizer, chat template, and the safetensors weights (the index's shards). */
function modelSelection(entries: ListFileEntry[], index: { weight_map?: Record<string, string> } | null): string[] {
  const paths = entries.filter(e => e.type === "file").map(e => e.path);
  const shards = index ? new Set(Object.values(index.weight_map ?? {})) : null;
  const single = paths.includes("model.safetensors");
  return paths.filter(p => {
    if (!isModelFile(p)) return false;
    if (!p.endsWith(".safetensors")) return true;
    if (shards) return shards.has(p);
    return single ? p === "model.safetensors" : true;
  });
}

/**
 * Makes sure the cache holds `id`'s files at its revision (downloading what is missing) and returns the snapshot.
 * Models: the files listed in isModelFile (no *.bin, onnx/, gguf). Datasets: the data files of `id.config` and
 * `id.split` (all configs/splits when not given), Parquet preferred, plus README.md (its YAML names the configs).
 */
export async function downloadSnapshot(id: HubId, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const env = opts.env ?? hubEnv();
  if (env.offline) throw new HubOfflineError(what(id), env.cacheDir, "a download was asked");
  const doFetch = opts.fetch ?? fetch;
  const progress = opts.progress === false ? silentProgress : opts.progress ?? createDownloadProgress();
  const maxAttempts = opts.maxAttempts ?? 5;
  const headers: Record<string, string> = env.token ? { Authorization: `Bearer ${env.token}` } : {};
  // The API calls are @huggingface/hub's (listFiles follows the Link header page by page): bounded here.
  let apiCalls = 0;
  // The token goes in the header here rather than as the library's accessToken, which refuses tokens not
  // starting with "hf_" (older org tokens, mirrors' own).
  const apiFetch: typeof fetch = (input, init) => {
    if (++apiCalls > MAX_API_CALLS) throw new HubDownloadError(`${what(id)}: more than ${MAX_API_CALLS} API requests (the file list never ends); is HF_ENDPOINT a Hugging Face hub?`);
    const call = () => doFetch(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), ...headers } });
    // A connection the server closed as it was reused (keep-alive race) or reset: the request never reached an
    // answer, so it is sent again, as the file downloads below are; a refused connection is not retried.
    const once = async (attempt: number): Promise<Response> => {
      try {
        return await call();
      } catch (e) {
        if (attempt >= maxAttempts || !/UND_ERR_SOCKET|ECONNRESET|EPIPE/.test(causeOf(e))) throw e;
        await new Promise(r => setTimeout(r, 100 * attempt));
        return once(attempt + 1);
      }
    };
    return once(1);
  };
  const creds = { hubUrl: env.endpoint, fetch: apiFetch };

  let sha: string;
  let entries: ListFileEntry[] = [];
  try {
    const info = id.kind === "model"
      ? await modelInfo({ ...creds, name: id.repo, revision: id.revision, additionalFields: ["sha"] })
      : await datasetInfo({ ...creds, name: id.repo, revision: id.revision, additionalFields: ["sha"] });
    sha = (info as { sha?: string }).sha ?? "";
    if (!/^[0-9a-f]{40}$/.test(sha)) throw new HubDownloadError(`${what(id)}: the hub's API gave no commit sha for revision ${id.revision}`);
    for await (const e of listFiles({ ...creds, repo: { type: id.kind, name: id.repo }, revision: sha, recursive: true })) entries.push(e);
  } catch (e) {
    if (e instanceof HubError) throw e;
    throw apiError(e, id, env);
  }

  const folder = repoFolder(env.cacheDir, id.kind, id.repo);
  const snapshot = join(folder, "snapshots", sha);
  const downloaded: string[] = [];
  const sizes = new Map(entries.map(e => [e.path, e.lfs?.size ?? e.size]));

  const ensure = async (path: string): Promise<string> => {
    // paths come from the hub's file list and are joined onto the cache: nothing may climb out of the snapshot
    if (path.startsWith("/") || path.includes("\\") || path.split("/").some(p => p === ".." || p === "." || p === ""))
      throw new HubDownloadError(`${what(id)}: the hub listed a file "${path}" that is not a plain relative path; refused`);
    const pointer = join(snapshot, path);
    if (existsSync(pointer)) return pointer; // existsSync follows the symlink: a dangling one is fetched again
    const meta = await fileMeta(id, sha, path, env, doFetch, headers);
    const blob = join(folder, "blobs", meta.etag);
    mkdirSync(dirname(blob), { recursive: true });
    if (!existsSync(blob)) {
      const lock = join(env.cacheDir, ".locks", repoFolderName(id.kind, id.repo), `${meta.etag}.lock`);
      await withLock(lock, async () => {
        if (existsSync(blob)) return; // another process finished it while we waited
        const incomplete = `${blob}.incomplete`;
        await fetchBytes(id, path, meta, incomplete, env, doFetch, headers, progress, maxAttempts);
        const digest = hashFile(incomplete, meta.etag);
        if (digest !== null && digest !== meta.etag) {
          unlinkSync(incomplete);
          throw new HubChecksumError(`${formatHubId(id)}/${path}`, `its ${meta.etag.length === 64 ? "sha256" : "git sha1"} is ${digest} but the hub's ETag says ${meta.etag}`);
        }
        renameSync(incomplete, blob);
        downloaded.push(path);
      }, { onWait: holder => progress.note(`${path}: another download holds ${lock} (${holder}); waiting for it`) });
    }
    mkdirSync(dirname(pointer), { recursive: true });
    rmSync(pointer, { force: true }); // a dangling link
    symlinkSync(relative(dirname(pointer), blob), pointer);
    return pointer;
  };

  let files: string[];
  try {
    if (id.kind === "model") {
      const paths = new Set(entries.map(e => e.path));
      if (!paths.has("config.json"))
        throw new HubNotFoundError(`${what(id)}: the repo has no config.json, so it is not a transformers model folder${entries.some(e => e.path.endsWith(".parquet")) ? "; it looks like a dataset: add --dataset (or use it as a recipe's dataset:)" : ""}`);
      let index = null;
      if (paths.has("model.safetensors.index.json")) {
        const p = await ensure("model.safetensors.index.json");
        index = JSON.parse(readFileSync(p, "utf8")) as { weight_map?: Record<string, string> };
      }
      files = modelSelection(entries, index);
      if (!files.some(f => f.endsWith(".safetensors")))
        throw new HubNotFoundError(`${what(id)}: the repo has no *.safetensors weights (Move37 reads safetensors only; files: ${[...paths].filter(p => !p.includes("/")).join(", ")})`);
      const absent = OPTIONAL_MODEL_FILES.filter(f => !paths.has(f));
      for (const f of absent) { // as transformers leaves them after probing: the file is known to be absent at this commit
        mkdirSync(join(folder, ".no_exist", sha), { recursive: true });
        writeFileSync(join(folder, ".no_exist", sha, f), "");
      }
    } else {
      const all = entries.filter(e => e.type === "file").map(e => e.path);
      // the card's configs: (README.md's YAML) name the files of each config and split when present, as for load_dataset
      const card = all.includes("README.md") ? cardDataFiles(readFileSync(await ensure("README.md"), "utf8"), all, id.config, id.split) : undefined;
      files = card ? card.files : datasetFilesFor(all, id.config, id.split);
      if (card && !files.length)
        throw new HubNotFoundError(`${what(id)}: the dataset card (README.md) names no data files${id.config ? ` for config "${id.config}"` : ""}${id.split ? ` and split "${id.split}"` : ""}; its configs: ${card.configs.join(", ")}`);
      if (!files.length) {
        const configs = [...new Set(datasetFilesFor(all, undefined, undefined).map(f => f.split("/")).map(p => (p[0] === "data" && p.length > 2 ? p[1] : p.length > 1 ? p[0] : "")).filter(Boolean))];
        throw new HubNotFoundError(`${what(id)}: no data files${id.config ? ` for config "${id.config}"` : ""}${id.split ? ` and split "${id.split}"` : ""} in the repo` +
          (configs.length ? `; its configs: ${configs.join(", ")} (write ${id.repo}:${configs[0]})` : `; it holds no Parquet or JSON Lines files (CSV, scripts): the hub's Parquet conversion may, try ${id.repo}@refs/convert/parquet${id.config ? `:${id.config}` : ""}`));
      }
      if (all.includes("README.md")) files.unshift("README.md"); // already fetched above: its config list for the loader
    }
    for (const f of files) await ensure(f);
  } finally {
    progress.stop();
  }

  if (id.revision !== sha) { // a branch or tag → the commit it points at now
    const ref = join(folder, "refs", id.revision);
    mkdirSync(dirname(ref), { recursive: true });
    writeFileSync(ref, sha);
  }
  return { dir: snapshot, sha, files, downloaded, bytes: files.reduce((s, f) => s + (sizes.get(f) ?? 0), 0) };
}
