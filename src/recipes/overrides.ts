// Command-line overrides: `--grpo.beta=0.04 --model.layers=4 --tags=[a,b]`; values are YAML scalars.
import { parse as parseYaml } from "yaml";
import { RecipeError, type RecipeProblem } from "./errors.js";

export interface Override {
  path: string[];
  value: unknown;
}

/** Parses `--key.path=value` arguments; values are read as YAML ("0.04" → 0.04, "true" → true, "[1,2]" → [1, 2]). */
export function parseOverrides(args: string[]): Override[] {
  const out: Override[] = [];
  const problems: RecipeProblem[] = [];
  for (const arg of args) {
    const m = /^--([A-Za-z0-9_][\w/-]*(?:\.[\w/-]+)*)=(.*)$/s.exec(arg);
    if (m === null) {
      problems.push({ path: arg, message: "not an override", hint: "write overrides as --key.path=value, e.g. --grpo.beta=0.04" });
      continue;
    }
    out.push({ path: m[1].split("."), value: yamlScalar(m[2]) });
  }
  if (problems.length > 0) throw new RecipeError("command line", problems);
  return out;
}

function yamlScalar(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return text;
  }
}

/** Sets each override into a copy of `recipe`, creating intermediate objects as needed. */
export function applyOverrides(recipe: Record<string, unknown>, overrides: Override[]): Record<string, unknown> {
  const root = structuredClone(recipe);
  for (const { path, value } of overrides) {
    let node: Record<string, unknown> = root;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (next === null || typeof next !== "object" || Array.isArray(next)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]] = value;
  }
  return root;
}
