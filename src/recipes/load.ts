// Recipe → validated config, failing before any work with every problem listed by path.
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, relative } from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { RecipeError, type RecipeProblem } from "./errors.js";
import { didYouMean } from "./hints.js";
import { applyOverrides, type Override } from "./overrides.js";
import { trainerNames, type Trainer } from "./registry.js";
import { keysAt } from "./schema-keys.js";
import { findShippedRecipe, listRecipes } from "./shipped.js";

export class RecipeNotFoundError extends Error {
  constructor(name: string, suggestion?: string) {
    super(
      `recipe "${name}" not found: give a YAML file path or a shipped recipe name` +
        (suggestion ? ` (did you mean "${suggestion}"?)` : "") +
        "; `move37 recipes ls` lists the shipped ones",
    );
    this.name = "RecipeNotFoundError";
  }
}

/** The recipe file for a path, or for a shipped recipe's name. */
export function locateRecipe(nameOrPath: string): string {
  if (existsSync(nameOrPath)) return nameOrPath;
  const shipped = findShippedRecipe(nameOrPath);
  if (shipped) {
    const rel = relative(process.cwd(), shipped.path);
    return rel.startsWith("..") || isAbsolute(rel) ? shipped.path : rel;
  }
  throw new RecipeNotFoundError(nameOrPath, didYouMean(nameOrPath.replace(/^.*\//, "").replace(/\.ya?ml$/, ""), listRecipes().map(r => r.name)));
}

/** Parses a YAML recipe into a plain object; syntax errors are reported with line and column. */
export function parseRecipe(text: string, source: string): Record<string, unknown> {
  const doc = parseDocument(text, { prettyErrors: true, merge: true }); // merge: `<<: *anchor` lets experiment stages share one block
  if (doc.errors.length > 0) {
    throw new RecipeError(source, doc.errors.map(e => ({ path: "", message: `YAML syntax error: ${e.message.split("\n")[0]}` })));
  }
  const value: unknown = doc.toJS();
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new RecipeError(source, [{ path: "", message: "a recipe is a YAML mapping of keys to values", hint: "start with `trainer: <name>`" }]);
  }
  return value as Record<string, unknown>;
}

export function readRecipe(path: string): Record<string, unknown> {
  return parseRecipe(readFileSync(path, "utf8"), path);
}

export interface ResolvedRecipe {
  trainer: Trainer;
  /** The trainer's config with every default filled in. */
  config: Record<string, unknown>;
  /** What config.json holds: `{ trainer, ...config }`. */
  resolved: Record<string, unknown>;
}

/** Applies overrides, picks the trainer among `trainers` (src/cli/trainers.ts), validates; throws RecipeError listing every problem. */
export function resolveRecipe(recipe: Record<string, unknown>, overrides: Override[], source: string, trainers: readonly Trainer[]): ResolvedRecipe {
  const { trainer: name, ...rest } = applyOverrides(recipe, overrides);
  const names = trainerNames(trainers);
  if (typeof name !== "string") {
    throw new RecipeError(source, [{ path: "trainer", message: name === undefined ? "missing" : `expected a trainer name, got ${preview(name)}`, hint: `one of: ${names.join(", ") || "(none)"}` }]);
  }
  const trainer = trainers.find(t => t.name === name);
  if (!trainer) {
    const guess = didYouMean(name, names);
    throw new RecipeError(source, [{ path: "trainer", message: `unknown trainer "${name}"`, hint: guess ? `did you mean "${guess}"?` : `one of: ${names.join(", ") || "(none)"}` }]);
  }
  const parsed = trainer.schema.safeParse(rest, { reportInput: true });
  if (!parsed.success) {
    throw new RecipeError(source, parsed.error.issues.flatMap(i => problemsOf(i, trainer.schema)), `\`move37 config schema ${name}\` prints every key this trainer accepts.`);
  }
  const config = parsed.data as Record<string, unknown>;
  return { trainer, config, resolved: { trainer: name, ...config } };
}

function problemsOf(issue: z.core.$ZodIssue, schema: z.ZodType): RecipeProblem[] {
  const path = issue.path.map(p => (typeof p === "symbol" ? String(p) : p));
  const at = dotted(path);
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "unrecognized_keys": {
      const known = keysAt(schema, path);
      return issue.keys.map(key => {
        const guess = didYouMean(key, known);
        return { path: dotted([...path, key]), message: "unknown key", hint: guess ? `did you mean "${guess}"?` : `known keys here: ${known.join(", ")}` };
      });
    }
    case "invalid_type":
      return [{ path: at, message: input === undefined ? `missing (expected ${issue.expected})` : `expected ${issue.expected}, got ${preview(input)}` }];
    case "invalid_value": {
      const options = issue.values.map(v => String(v));
      const guess = typeof input === "string" ? didYouMean(input, options) : undefined;
      return [{ path: at, message: `got ${preview(input)}, expected one of ${issue.values.map(v => JSON.stringify(v)).join(", ")}`, hint: guess ? `did you mean "${guess}"?` : undefined }];
    }
    default: {
      const message = issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
      return [{ path: at, message: input === undefined ? message : `${message}, got ${preview(input)}` }];
    }
  }
}

function dotted(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

function preview(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? s.slice(0, 37) + "..." : s;
}
