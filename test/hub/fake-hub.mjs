// A local stand-in for huggingface.co, run in a worker thread (so a test may block its own thread on a synchronous
// download while this one answers). It answers the routes and headers the real hub sends, as huggingface_hub's
// file_download.py and @huggingface/hub read them:
//
//   GET  /api/{models|datasets}/{owner}/{name}/revision/{rev}   → {id, sha, siblings, gated, …}
//   GET  /api/{models|datasets}/{owner}/{name}/tree/{rev}?recursive=true → [{type, path, size, oid, lfs?}], paged
//        with a `Link: <…>; rel="next"` header (3 entries a page here, so paging is exercised)
//   HEAD|GET /[datasets/]{owner}/{name}/resolve/{rev}/{path}
//        small files: 307 to /api/resolve-cache/{type}/{repo}/{sha}/{path} (relative Location), which answers
//                     with ETag "<git blob sha1>", X-Repo-Commit, Content-Length
//        LFS files:   302 to /cdn/<sha256> (absolute Location) with X-Linked-Etag "<sha256>", X-Linked-Size,
//                     X-Repo-Commit, and the pointer file's ETag
//        errors:      401/403 X-Error-Code: GatedRepo; 401/404 RepoNotFound; 404 RevisionNotFound;
//                     404 EntryNotFound (with X-Repo-Commit); a renamed repo: 307 to a relative Location
//   GET  /cdn/<sha256>   the bytes, with Range (206, Content-Range) — faults: cut the connection mid-file once,
//                        or serve altered bytes
//
// workerData: {repos, token, cutOnce / corrupt / busyOnce (a 503 first): [sha256 or path], renames: {old: new}, lifetimeMs}; it posts {port}
// once listening, answers "requests" with the log of requests, and stops by itself after lifetimeMs.
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { parentPort, workerData } from "node:worker_threads";

const { repos: repoSpecs, token, cutOnce = [], corrupt = [], busyOnce = [], renames = {}, lifetimeMs = 120_000 } = workerData;
const PAGE = 3;
const gitSha1 = buf => createHash("sha1").update(`blob ${buf.length}\0`).update(buf).digest("hex");
const sha256 = buf => createHash("sha256").update(buf).digest("hex");
const isLfs = path => /\.(safetensors|parquet|bin|model)$/.test(path);

// repos: [{kind, repo, gated, refs: {main: sha, …}, commits: {sha: {path: base64}}}]
const repos = new Map();
const blobs = new Map(); // sha256 → {buf, path}
for (const r of repoSpecs) {
  const commits = new Map();
  for (const [sha, files] of Object.entries(r.commits)) {
    const m = new Map();
    for (const [path, b64] of Object.entries(files)) {
      const buf = Buffer.from(b64, "base64");
      const f = { path, buf, size: buf.length, gitOid: gitSha1(buf) };
      if (isLfs(path)) {
        f.sha256 = sha256(buf);
        f.pointer = Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${f.sha256}\nsize ${buf.length}\n`);
        blobs.set(f.sha256, f);
      }
      m.set(path, f);
    }
    commits.set(sha, m);
  }
  repos.set(`${r.kind}s/${r.repo}`, { ...r, commits });
}

const log = [];
const cutDone = new Set();
const busyDone = new Set();
let port = 0;
let cdnPort = 0; // the CDN is another origin (its own port), as cdn-lfs.hf.co is another host

function authOf(req) {
  const a = req.headers.authorization;
  return a?.startsWith("Bearer ") ? a.slice(7) : undefined;
}

function send(res, status, headers, body) {
  const buf = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  res.writeHead(status, { "Content-Length": String(buf.length), ...headers });
  res.end(res.req.method === "HEAD" ? undefined : buf);
}

function apiError(res, status, code, message) {
  send(res, status, { "Content-Type": "application/json", "X-Error-Code": code, "X-Error-Message": message }, { error: message });
}

/** The repo, commit and files a (type, repo, rev) names, or an error already sent. */
function locate(req, res, type, repoName, rev) {
  const repo = repos.get(`${type}/${repoName}`);
  const auth = authOf(req);
  if (!repo) {
    apiError(res, auth ? 404 : 401, "RepoNotFound", "Repository not found");
    return null;
  }
  const sha = /^[0-9a-f]{40}$/.test(rev) && repo.commits.has(rev) ? rev : repo.refs[rev];
  if (!sha) {
    apiError(res, 404, "RevisionNotFound", `Invalid rev id: ${rev}`);
    return null;
  }
  return { repo, sha, files: repo.commits.get(sha), auth };
}

function range(req, size) {
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
  if (!m) return null;
  const start = Number(m[1]);
  const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  return { start, end };
}

function serveBytes(req, res, buf, headers, key) {
  const r = range(req, buf.length);
  if (r && r.start >= buf.length) return send(res, 416, { "Content-Range": `bytes */${buf.length}` });
  const body = r ? buf.subarray(r.start, r.end + 1) : buf;
  const status = r ? 206 : 200;
  const h = { ...headers, "Accept-Ranges": "bytes", ...(r ? { "Content-Range": `bytes ${r.start}-${r.end}/${buf.length}` } : {}) };
  if (req.method === "GET" && busyOnce.includes(key) && !busyDone.has(key)) {
    busyDone.add(key);
    return send(res, 503, { "Retry-After": "0" }, "Service Unavailable");
  }
  if (req.method === "GET" && cutOnce.includes(key) && !cutDone.has(key) && body.length > 1) {
    // promise the whole body, send half of it, then drop the connection
    cutDone.add(key);
    res.writeHead(status, { ...h, "Content-Length": String(body.length) });
    res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => res.socket?.destroy(), 20));
    return;
  }
  if (req.method === "GET" && corrupt.includes(key)) {
    const bad = Buffer.from(body);
    bad[bad.length - 1] ^= 0xff;
    return send(res, status, h, bad);
  }
  send(res, status, h, body);
}

const handler = (req, res) => {
  const url = new URL(req.url, `http://127.0.0.1:${port}`);
  log.push({ method: req.method, path: decodeURIComponent(url.pathname), range: req.headers.range ?? null, auth: req.headers.authorization ?? null });
  const parts = url.pathname.split("/").slice(1).map(decodeURIComponent);
  const onCdn = req.socket.localPort === cdnPort;
  if (onCdn !== (parts[0] === "cdn")) return send(res, 404, {}, "Not Found");

  if (parts[0] === "api" && parts[1] === "resolve-cache") return resolveCache(req, res, parts);

  // /api/{models|datasets}/{owner}/{name}/(revision|tree)/{rev}[/{path}]
  if (parts[0] === "api" && (parts[1] === "models" || parts[1] === "datasets")) {
    const repoName = `${parts[2]}/${parts[3]}`;
    if (renames[repoName]) return send(res, 307, { Location: url.pathname.replace(`/${repoName}/`, `/${renames[repoName]}/`) + url.search });
    const at = locate(req, res, parts[1], repoName, parts[5] ?? "main");
    if (!at) return;
    if (parts[4] === "revision") {
      return send(res, 200, { "Content-Type": "application/json" }, {
        _id: `id-${repoName}`, id: repoName, sha: at.sha, private: false, gated: at.repo.gated ? "manual" : false, downloads: 0, likes: 0,
        lastModified: "2026-01-01T00:00:00.000Z", tags: [], siblings: [...at.files.keys()].map(rfilename => ({ rfilename })),
      });
    }
    if (parts[4] === "tree") {
      const entries = [];
      const dirs = new Set();
      for (const f of at.files.values()) {
        const segs = f.path.split("/");
        for (let i = 1; i < segs.length; i++) dirs.add(segs.slice(0, i).join("/"));
        entries.push({ type: "file", path: f.path, size: f.pointer ? f.pointer.length : f.size, oid: f.pointer ? gitSha1(f.pointer) : f.gitOid,
          ...(f.sha256 ? { lfs: { oid: f.sha256, size: f.size, pointerSize: f.pointer.length } } : {}) });
      }
      for (const d of dirs) entries.push({ type: "directory", path: d, size: 0, oid: gitSha1(Buffer.from(d)) });
      entries.sort((a, b) => a.path.localeCompare(b.path));
      const cursor = Number(url.searchParams.get("cursor") ?? 0);
      const page = entries.slice(cursor, cursor + PAGE);
      const headers = { "Content-Type": "application/json" };
      if (cursor + PAGE < entries.length) {
        const next = new URL(url);
        next.searchParams.set("cursor", String(cursor + PAGE));
        headers.Link = `<${next}>; rel="next"`;
      }
      return send(res, 200, headers, page);
    }
    return apiError(res, 404, "NotFound", "no such API route");
  }

  // /cdn/<sha256>
  if (parts[0] === "cdn") {
    const f = blobs.get(parts[1]);
    if (!f) return send(res, 404, {}, "NoSuchKey");
    return serveBytes(req, res, f.buf, { ETag: `"${f.sha256}"`, "Content-Type": "application/octet-stream" }, f.sha256);
  }

  // /[datasets/]{owner}/{name}/resolve/{rev}/{path…}
  const type = parts[0] === "datasets" ? "datasets" : "models";
  const p = type === "datasets" ? parts.slice(1) : parts;
  if (p[2] !== "resolve") return send(res, 404, {}, "Not Found");
  const repoName = `${p[0]}/${p[1]}`;
  if (renames[repoName]) {
    const rest = url.pathname.split("/").slice(type === "datasets" ? 4 : 3).join("/");
    return send(res, 307, { Location: `/${type === "datasets" ? "datasets/" : ""}${renames[repoName]}/${rest}` });
  }
  const at = locate(req, res, type, repoName, p[3]);
  if (!at) return;
  if (at.repo.gated && at.auth !== token) {
    const msg = `Access to model ${repoName} is restricted. You must have access to it and be authenticated to access it. Please log in.`;
    return apiError(res, at.auth ? 403 : 401, "GatedRepo", msg);
  }
  const path = p.slice(4).join("/");
  const f = at.files.get(path);
  if (!f) {
    res.setHeader("X-Repo-Commit", at.sha);
    return apiError(res, 404, "EntryNotFound", `${path} does not exist on "${p[3]}"`);
  }
  if (f.sha256) {
    return send(res, 302, {
      Location: `http://127.0.0.1:${cdnPort}/cdn/${f.sha256}?response-content-disposition=${encodeURIComponent(`attachment; filename="${path}"`)}`,
      ETag: `"${gitSha1(f.pointer)}"`, "X-Linked-Etag": `"${f.sha256}"`, "X-Linked-Size": String(f.size), "X-Repo-Commit": at.sha,
    }, `Found. Redirecting to /cdn/${f.sha256}`);
  }
  // small files: a commit-pinned 307 to the resolve cache, as huggingface.co answers since 2025; gated and private
  // repos' small files are served directly
  if (at.repo.gated) return serveBytes(req, res, f.buf, { ETag: `"${f.gitOid}"`, "X-Repo-Commit": at.sha, "Content-Type": "text/plain; charset=utf-8" }, f.path);
  const prefix = type === "datasets" ? "datasets" : "models";
  return send(res, 307, {
    Location: `/api/resolve-cache/${prefix}/${repoName}/${at.sha}/${encodeURI(path)}?etag=${encodeURIComponent(`"${f.gitOid}"`)}`, "X-Repo-Commit": at.sha,
  }, "Temporary Redirect");
};

/** /api/resolve-cache/{models|datasets}/{owner}/{name}/{sha}/{path…}: a small file's bytes at a commit. */
function resolveCache(req, res, parts) {
  const at = locate(req, res, parts[2], `${parts[3]}/${parts[4]}`, parts[5]);
  if (!at) return;
  const f = at.files.get(parts.slice(6).join("/"));
  if (!f) return apiError(res, 404, "EntryNotFound", "not found");
  return serveBytes(req, res, f.buf, { ETag: `"${f.gitOid}"`, "X-Repo-Commit": at.sha, "Content-Type": "text/plain; charset=utf-8" }, f.path);
}

const server = createServer(handler);
const cdn = createServer(handler);
cdn.listen(0, "127.0.0.1", () => {
  cdnPort = cdn.address().port;
  server.listen(0, "127.0.0.1", () => {
    port = server.address().port;
    parentPort.postMessage({ port });
  });
});
parentPort.on("message", m => {
  if (m === "requests") parentPort.postMessage({ requests: log.splice(0) });
});
const stop = setTimeout(() => { for (const s of [server, cdn]) { s.closeAllConnections(); s.close(); } parentPort.close(); }, lifetimeMs);
stop.unref?.call(stop);
server.on("close", () => clearTimeout(stop));
