// `move37 recipes ls` / `move37 recipes cp NAME [DEST]`: the shipped recipes, and a copy to edit.
import { copyFileSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { RecipeNotFoundError } from "../recipes/load.js";
import { didYouMean } from "../recipes/hints.js";
import { findShippedRecipe, listRecipes, SHIPPED_RECIPES_DIR } from "../recipes/shipped.js";
import { commandGroup, withExamples } from "./help.js";
import { output } from "./output.js";

export class DestinationExistsError extends Error {
  constructor(dest: string) {
    super(`${dest} already exists: pass --force to overwrite it, or give another destination`);
    this.name = "DestinationExistsError";
  }
}

/** Copies shipped recipe `name` to `dest` (a file, or a folder to copy into); returns the written path. */
export function copyRecipe(name: string, dest: string | undefined, force: boolean, dir = SHIPPED_RECIPES_DIR): string {
  const entry = findShippedRecipe(name, dir);
  if (!entry) throw new RecipeNotFoundError(name, didYouMean(name, listRecipes(dir).map(r => r.name)));
  let target = dest ?? `${entry.name}.yaml`;
  if (existsSync(target) && statSync(target).isDirectory()) target = join(target, `${entry.name}.yaml`);
  if (existsSync(target) && !force) throw new DestinationExistsError(target);
  copyFileSync(entry.path, target);
  return target;
}

/** Greedy word wrap to `width` columns. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return line ? [...lines, line] : lines;
}

export function register(program: Command): void {
  const recipes = commandGroup(program, "recipes", "list the shipped recipes or copy one to edit", ["move37 recipes ls", "move37 recipes cp r1-zero-tiny my.yaml"]);
  withExamples(
    recipes
      .command("ls")
      .description("list the shipped recipes with the command that runs each")
      .option("--dir <dir>", "folder of recipes", SHIPPED_RECIPES_DIR)
      .action((opts: { dir: string }) => {
        const list = listRecipes(opts.dir);
        if (list.length === 0) {
          output.out(`no recipes in ${opts.dir}\n`);
          return;
        }
        for (const r of list) output.out(`${r.name}\n    $ ${r.command}\n${wrap(r.description, 96).map(l => `    ${l}\n`).join("")}`);
      }),
    ["move37 recipes ls"],
  );
  withExamples(
    recipes
      .command("cp")
      .description("copy a shipped recipe to edit it")
      .argument("<name>", "recipe name, as `recipes ls` shows it")
      .argument("[dest]", "file or folder to copy to (default ./NAME.yaml)")
      .option("--force", "overwrite an existing file")
      .option("--dir <dir>", "folder of recipes", SHIPPED_RECIPES_DIR)
      .action((name: string, dest: string | undefined, opts: { force?: boolean; dir: string }) => {
        const written = copyRecipe(name, dest, opts.force === true, opts.dir);
        output.out(`wrote ${written}; run it with: move37 train ${written}\n`);
      }),
    ["move37 recipes cp r1-zero-tiny", "move37 recipes cp r1-zero-tiny recipes/mine.yaml --force"],
  );
}
