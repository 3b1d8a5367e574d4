// `move37 pipeline RECIPE`: the R1 multi-stage pipeline (src/train/pipeline.ts), run as `move37 train` runs any
// recipe (run directory, --resume, --dry-run, --dashboard, --key=value overrides), refusing non-pipeline recipes.
import type { Command } from "commander";
import { locateRecipe, readRecipe } from "../recipes/load.js";
import { addRunOptions, recipeAndOverrides, train, type RunFlags } from "./train.js";
import { withExamples } from "./help.js";

export class NotAPipelineError extends Error {
  constructor(recipe: string, trainer: unknown) {
    super(`${recipe} is a recipe for trainer "${String(trainer)}", not a pipeline: run it with \`move37 train ${recipe}\`, or give a recipe with \`trainer: pipeline\` (e.g. recipes/r1-tiny.yaml)`);
    this.name = "NotAPipelineError";
  }
}

export function register(program: Command): void {
  const cmd = program
    .command("pipeline")
    .description("the DeepSeek-R1 pipeline: cold-start SFT → reasoning RL → rejection-sampling SFT → final RL, each stage in runs/<name>/stages/, then every stage compared on one held-out set (report.json)")
    .argument("[recipe]", "pipeline recipe (trainer: pipeline); optional with --resume");
  addRunOptions(cmd, "continue a pipeline: completed stages are skipped, the interrupted one resumes from its checkpoint", "--heldout.eval_size=64")
    .action(async (_recipe: string | undefined, opts: RunFlags, command: Command) => {
      const { recipe, overrides } = recipeAndOverrides(command);
      if (recipe !== undefined) {
        const trainer = readRecipe(locateRecipe(recipe)).trainer;
        if (trainer !== "pipeline") throw new NotAPipelineError(recipe, trainer);
      }
      await train(recipe, opts, overrides);
    });
  withExamples(cmd, [
    "move37 pipeline recipes/r1-tiny.yaml",
    "move37 pipeline recipes/r1-tiny.yaml --dry-run",
    "move37 pipeline --resume runs/r1-tiny-20261128-170000",
  ]);
}
