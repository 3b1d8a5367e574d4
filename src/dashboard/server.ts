// `move37 dashboard`: a small HTTP server (hono) with one SSE stream of run updates and a JSON API for samples.
// It reads run directories from its own process, so a training process is never slowed by it.
import { Hono } from "hono";
import { streamSSE, type SSEStreamingApi } from "hono/streaming";
import { closeServer, listen } from "../http/listen.js";
import { bundlePage } from "./bundle.js";
import { RunSet, type RunEvent, type RunWatcher } from "./watch.js";

export interface DashboardOptions {
  /** Run directories, or folders of runs (new runs appearing there are picked up). */
  paths: string[];
  port?: number;
  host?: string;
  /** How often to look for new runs and status changes (ms). */
  scanMs?: number;
}

export interface Dashboard {
  url: string;
  close(): Promise<void>;
}

/** Samples of a run, newest step first, filtered as the sample browser asks. */
export function querySamples(w: RunWatcher, q: { step?: number; minReward?: number; maxReward?: number; offset: number; limit: number }) {
  const indexed = w.samples.map((row, index) => ({ index, ...row }));
  const hits = indexed.filter(r => {
    if (q.step !== undefined && r.step !== q.step) return false;
    const reward = typeof r.reward === "number" ? r.reward : null;
    if (q.minReward !== undefined && (reward === null || reward < q.minReward)) return false;
    if (q.maxReward !== undefined && (reward === null || reward > q.maxReward)) return false;
    return true;
  });
  hits.sort((a, b) => b.step - a.step || a.index - b.index);
  const steps = [...new Set(w.samples.map(s => s.step))].sort((a, b) => b - a);
  return { total: hits.length, steps, rows: hits.slice(q.offset, q.offset + q.limit) };
}

const num = (s: string | undefined): number | undefined => (s === undefined || s === "" || Number.isNaN(Number(s)) ? undefined : Number(s));

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const assets = await bundlePage();
  const runs = new RunSet(opts.paths);
  const clients = new Set<SSEStreamingApi>();

  const send = (stream: SSEStreamingApi, event: string, data: unknown) => {
    stream.writeSSE({ event, data: JSON.stringify(data) }).catch(() => clients.delete(stream));
  };
  const broadcast = (event: string, data: unknown) => {
    for (const c of clients) send(c, event, data);
  };
  const wire = (w: RunWatcher) => w.subscribe((e: RunEvent) => broadcast(e.type, { run: w.id, ...e }));
  runs.all().forEach(wire);

  // New runs and status changes (running → completed) reach open pages without a reload.
  let lastSummaries = JSON.stringify(runs.all().map(w => w.summary()));
  const scan = setInterval(() => {
    const before = new Set(runs.all());
    if (runs.rescan()) for (const w of runs.all()) if (!before.has(w)) wire(w);
    const summaries = runs.all().map(w => w.summary());
    const text = JSON.stringify(summaries);
    if (text !== lastSummaries) {
      lastSummaries = text;
      broadcast("runs", summaries);
      for (const w of runs.all()) if (!before.has(w)) snapshot(w, s => broadcast(s.event, s.data));
    }
  }, opts.scanMs ?? 2000);
  scan.unref();

  function snapshot(w: RunWatcher, out: (m: { event: string; data: unknown }) => void) {
    out({ event: "metrics", data: { run: w.id, rows: w.metrics, reset: true } });
    out({ event: "samples", data: { run: w.id, count: w.samples.length, lastStep: w.samples.at(-1)?.step ?? null } });
  }

  const app = new Hono();
  app.get("/", c => c.html(assets.html));
  app.get("/app.js", c => c.body(assets.js, 200, { "content-type": "text/javascript; charset=utf-8" }));
  app.get("/app.css", c => c.body(assets.css, 200, { "content-type": "text/css; charset=utf-8" }));
  app.get("/api/runs", c => c.json(runs.all().map(w => w.summary())));
  app.get("/api/runs/:id/config", c => {
    const w = runs.get(c.req.param("id"));
    return w ? c.json(w.config()) : c.json({ error: "no such run" }, 404);
  });
  app.get("/api/runs/:id/samples", c => {
    const w = runs.get(c.req.param("id"));
    if (!w) return c.json({ error: "no such run" }, 404);
    return c.json(
      querySamples(w, {
        step: num(c.req.query("step")),
        minReward: num(c.req.query("min")),
        maxReward: num(c.req.query("max")),
        offset: num(c.req.query("offset")) ?? 0,
        limit: Math.min(num(c.req.query("limit")) ?? 50, 500),
      }),
    );
  });
  app.get("/api/events", c =>
    streamSSE(c, async stream => {
      send(stream, "runs", runs.all().map(w => w.summary()));
      for (const w of runs.all()) snapshot(w, m => send(stream, m.event, m.data));
      clients.add(stream);
      let open = true;
      stream.onAbort(() => {
        open = false;
        clients.delete(stream);
      });
      while (open) {
        await stream.sleep(15000);
        if (open) send(stream, "ping", {});
      }
    }),
  );

  const { server, url } = await listen(app.fetch, opts.port ?? 3737, opts.host ?? "127.0.0.1");
  return {
    url: `${url}/`,
    close: () => {
      clearInterval(scan);
      runs.close();
      for (const c of clients) c.abort();
      clients.clear();
      return closeServer(server);
    },
  };
}
