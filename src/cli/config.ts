// `move37 config schema [TRAINER]`: the JSON Schema recipes are validated against.
import type { Command } from "commander";
import { recipeJsonSchema } from "../recipes/json-schema.js";
import { commandGroup, withExamples } from "./help.js";
import { output } from "./output.js";
import { trainerList, type ProgramOptions } from "./train.js";

export function register(program: Command, options: ProgramOptions = {}): void {
  const config = commandGroup(program, "config", "inspect the recipe configuration format", ["move37 config schema grpo"]);
  withExamples(
    config
      .command("schema")
      .argument("[trainer]", "one trainer's recipe schema (default: all, as a oneOf keyed by `trainer`)")
      .description("print the JSON Schema of recipes")
      .action(async (trainer: string | undefined) => {
        output.out(JSON.stringify(recipeJsonSchema(await trainerList(options.trainers), trainer), null, 2) + "\n");
      }),
    ["move37 config schema grpo > grpo.schema.json", "move37 config schema | jq '.oneOf[].title'"],
  );
}
