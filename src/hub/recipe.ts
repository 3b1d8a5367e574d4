// A recipe's model keys → folders, once, before its trainer runs (src/cli/train.ts). Datasets resolve where every
// dataset is read (src/data/files.ts resolveDataFiles); model folders given to verbs, in loadForGeneration,
// resolvePolicy, serve and export.
import { classify } from "./id.js";
import { resolveDatasetPath, resolveModelPath, type ResolveOptions } from "./resolve.js";

/** Keys that hold a model folder (or a hub id) in the trainers' recipes; `rollout.model` is a server's name, not one. */
export const RECIPE_MODEL_KEYS = ["model", "teacher", "student", "reward_model", "policy"] as const;

function resolveKeys(obj: Record<string, unknown>, opts: ResolveOptions, seen: Map<string, string>): Record<string, unknown> {
  const out = { ...obj };
  for (const k of RECIPE_MODEL_KEYS) {
    const v = out[k];
    if (typeof v !== "string" || v.startsWith("@")) continue; // "@base", "@<stage>": a pipeline stage's model
    // a local path stays as written (the trainers read it relative to the working directory, as before)
    if ("local" in classify(v, "model", opts.baseDir)) continue;
    if (!seen.has(v)) seen.set(v, resolveModelPath(v, opts));
    out[k] = seen.get(v)!;
  }
  return out;
}

/**
 * The config with every hub id among its model keys (and those of a pipeline's stages) replaced by the cached
 * snapshot folder, downloading on first use; local paths and "@stage" references are left as they are. The run's
 * saved config keeps the ids (pass the original there), so a run can be resumed on another machine.
 */
export function resolveRecipeModels(config: Record<string, unknown>, opts: ResolveOptions = {}): { config: Record<string, unknown>; resolved: [string, string][] } {
  const seen = new Map<string, string>();
  const out = resolveKeys(config, opts, seen);
  if (Array.isArray(out.stages)) {
    out.stages = out.stages.map(s => {
      if (typeof s !== "object" || s === null) return s;
      const stage = s as Record<string, unknown>;
      return typeof stage.config === "object" && stage.config !== null ? { ...stage, config: resolveKeys(stage.config as Record<string, unknown>, opts, seen) } : stage;
    });
  }
  return { config: out, resolved: [...seen] };
}

/**
 * Fetches the hub datasets a recipe names (`dataset:` and a pipeline stage's, with their split, eval_split and
 * eval_path) into the cache before the run starts, so a gated or missing dataset fails before a run directory is
 * made and a long download can be stopped with Ctrl-C. The config is not changed: the loader finds them cached.
 */
export function prefetchRecipeDatasets(config: Record<string, unknown>, opts: ResolveOptions = {}): void {
  const one = (d: unknown) => {
    const c = typeof d === "string" ? { path: d } : d;
    if (typeof c !== "object" || c === null) return;
    const { path, config: cfg, split, eval_split, eval_path } = c as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === "string" ? v : undefined);
    const get = (p: unknown, s: unknown) => {
      if (typeof p === "string" && "id" in classify(p, "dataset", opts.baseDir)) resolveDatasetPath(p, { ...opts, config: str(cfg), split: str(s) ?? "train" });
    };
    get(path, split);
    if (eval_split !== undefined || eval_path !== undefined) get(eval_path ?? path, eval_split ?? split);
  };
  one(config.dataset);
  if (Array.isArray(config.stages)) for (const s of config.stages) one((s as { config?: { dataset?: unknown } } | null)?.config?.dataset);
}
