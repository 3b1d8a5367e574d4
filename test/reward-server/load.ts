// A closed-loop load driver: `concurrency` clients each send their next request as soon as the last one
// is answered, until `requests` have been sent. Used by the load test and bench/reward-server.ts.
import { openRlhfBatch, type OpenRlhfBatch } from "./cases.js";

export interface LoadResult { seconds: number; latenciesMs: number[]; statuses: Map<number, number>; bodies: unknown[] }

/** Distinct OpenRLHF batches of `size` samples; request i sends batches[i % batches.length]. */
export function loadBatches(count: number, size: number): OpenRlhfBatch[] {
  return Array.from({ length: count }, (_, k) => openRlhfBatch(size, k + 1));
}

export async function driveLoad(url: string, batches: OpenRlhfBatch[], requests: number, concurrency: number): Promise<LoadResult> {
  const bodies = batches.map(b => JSON.stringify({ query: b.query, prompts: b.prompts, labels: b.labels }));
  const out: LoadResult = { seconds: 0, latenciesMs: [], statuses: new Map(), bodies: new Array(requests) };
  let next = 0;
  const client = async () => {
    while (next < requests) {
      const i = next++;
      const t = performance.now();
      const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: bodies[i % bodies.length] })
        .catch((e: Error) => { throw new Error(`request ${i} failed after ${(performance.now() - t).toFixed(0)} ms: ${e.message} (${String((e.cause as Error | undefined)?.message ?? e.cause)})`); });
      out.bodies[i] = await res.json();
      out.latenciesMs.push(performance.now() - t);
      out.statuses.set(res.status, (out.statuses.get(res.status) ?? 0) + 1);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, client));
  out.seconds = (performance.now() - t0) / 1000;
  return out;
}

/** The q-quantile (0..1) of the values. */
export function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
