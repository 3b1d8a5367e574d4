// A recipe's model keys → folders, once, before its trainer runs (src/cli/train.ts). Datasets resolve where every
// dataset is read (src/data/files.ts resolveDataFiles); model folders given to verbs, in loadForGeneration,
// resolvePolicy, serve and export.
import { classify } from "./id.js";
import { resolveModelPath, type ResolveOptions } from "./resolve.js";

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
