// The recipes shipped in recipes/: each file opens with the command that runs it, then what it does.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

export const SHIPPED_RECIPES_DIR = fileURLToPath(new URL("../../recipes", import.meta.url));

export interface RecipeEntry {
  name: string;
  path: string;
  /** First comment line, e.g. "move37 train recipes/r1-zero-tiny.yaml". */
  command: string;
  /** The comment lines after it, joined. */
  description: string;
}

export function listRecipes(dir = SHIPPED_RECIPES_DIR): RecipeEntry[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter(f => /\.ya?ml$/.test(f))
    .sort()
    .map(f => describeRecipe(join(dir, f)));
}

export function describeRecipe(path: string): RecipeEntry {
  const header: string[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line.startsWith("#")) break;
    header.push(line.replace(/^#+\s?/, "").trim());
  }
  return {
    name: basename(path).replace(/\.ya?ml$/, ""),
    path,
    command: header[0] ?? "",
    description: header.slice(1).filter(l => l !== "").join(" "),
  };
}

/** A shipped recipe by name ("r1-zero-tiny" or "r1-zero-tiny.yaml"), or undefined. */
export function findShippedRecipe(name: string, dir = SHIPPED_RECIPES_DIR): RecipeEntry | undefined {
  const bare = basename(name).replace(/\.ya?ml$/, "");
  return listRecipes(dir).find(r => r.name === bare);
}
