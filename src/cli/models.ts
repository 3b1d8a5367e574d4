// `move37 models ls`: the models (and datasets) in the local Hugging Face cache, with their sizes, architectures, and
// whether Move37 loads each (fromHfConfig's refusal says why not).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { datasetFilesFor, hubEnv, mb, modelSnapshotGap, scanCache, type CachedRepo } from "../hub/index.js";
import { fromHfConfig } from "../model/io/hf-config.js";
import { commandGroup, withExamples } from "./help.js";
import { output } from "./output.js";
import { formatTable } from "../runs/table.js";

export interface ModelRow {
  id: string;
  refs: string;
  sha: string;
  fullSha: string;
  bytes: number;
  architecture: string;
  /** null when Move37 loads it, else why not */
  refusal: string | null;
}

/** One row per cached model snapshot. */
export function modelRows(repos: CachedRepo[]): ModelRow[] {
  const rows: ModelRow[] = [];
  for (const r of repos.filter(x => x.kind === "model")) {
    for (const s of r.snapshots) {
      let architecture = "-";
      let refusal: string | null = modelSnapshotGap(s.dir);
      if (refusal) refusal = `incomplete: ${refusal}`;
      const cfgPath = join(s.dir, "config.json");
      if (existsSync(cfgPath)) {
        try {
          const json = JSON.parse(readFileSync(cfgPath, "utf8")) as { architectures?: unknown; model_type?: unknown };
          architecture = Array.isArray(json.architectures) && typeof json.architectures[0] === "string" ? json.architectures[0] : typeof json.model_type === "string" ? json.model_type : "-";
          try {
            fromHfConfig(json, `${r.repo}/config.json`);
          } catch (e) {
            refusal ??= (e as Error).message;
          }
        } catch (e) {
          refusal ??= `config.json is not JSON (${(e as Error).message})`;
        }
      }
      rows.push({ id: r.repo, refs: s.refs.join(",") || "-", sha: s.sha.slice(0, 12), fullSha: s.sha, bytes: s.bytes, architecture, refusal });
    }
  }
  return rows;
}

export function modelsTable(cacheDir: string): string {
  const repos = scanCache(cacheDir);
  const rows = modelRows(repos);
  const parts: string[] = [];
  if (rows.length === 0) parts.push(`no models in ${cacheDir} (move37 download owner/name fetches one)`);
  else {
    parts.push(formatTable(["model", "refs", "commit", "size", "architecture", "loads"], rows.map(r => [r.id, r.refs, r.sha, mb(r.bytes), r.architecture, r.refusal ? "no" : "yes"])));
    const refused = rows.filter(r => r.refusal);
    if (refused.length) parts.push("", "why not:", ...refused.map(r => `  ${r.id}@${r.sha}: ${r.refusal}`));
  }
  const datasets = repos.filter(r => r.kind === "dataset").flatMap(r => r.snapshots.map(s => {
    const configs = [...new Set(datasetFilesFor(s.files, undefined, undefined).map(f => f.split("/")).map(p => (p[0] === "data" && p.length > 2 ? p[1] : p.length > 1 ? p[0] : "-")))];
    return [r.repo, s.refs.join(",") || "-", s.sha.slice(0, 12), mb(s.bytes), configs.join(",") || "-"];
  }));
  if (datasets.length) parts.push("", formatTable(["dataset", "refs", "commit", "size", "configs"], datasets));
  return parts.join("\n") + "\n";
}

export function register(program: Command): void {
  const group = commandGroup(program, "models", "models in the local Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)", [
    "move37 models ls",
    "HF_HOME=/data/hf move37 models ls",
  ]);
  const ls = group
    .command("ls")
    .description("list cached models (and datasets): id, refs, commit, size, architecture, and whether Move37 loads it (and why not)")
    .option("--json", "one JSON object per cached model snapshot: id, refs, commit, bytes, architecture, path, loads, why_not")
    .action((o: { json?: boolean }) => {
      const cacheDir = hubEnv().cacheDir;
      if (!o.json) return output.out(modelsTable(cacheDir));
      const repos = scanCache(cacheDir);
      const dirs = new Map(repos.flatMap(r => r.snapshots.map(s => [`${r.repo}@${s.sha}`, s.dir] as const)));
      for (const r of modelRows(repos)) {
        output.out(JSON.stringify({ id: r.id, refs: r.refs === "-" ? [] : r.refs.split(","), commit: r.fullSha, bytes: r.bytes, architecture: r.architecture, path: dirs.get(`${r.id}@${r.fullSha}`), loads: r.refusal === null, why_not: r.refusal }) + "\n");
      }
    });
  withExamples(ls, ["move37 models ls", "move37 download Qwen/Qwen2.5-0.5B-Instruct && move37 models ls", "move37 models ls --json | jq -r 'select(.loads) | .id'"]);
}
