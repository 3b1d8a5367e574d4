// `move37 selfplay RECIPE`: an AlphaZero (or supervised-baseline) run: the same run directory, overrides and --resume as `move37 train`.
import type { Command } from "commander";
import { withExamples } from "./help.js";
import { train, type ProgramOptions } from "./train.js";

interface SelfplayOptions { resume?: string; name?: string; runsDir: string; dryRun?: boolean }

export function register(program: Command, options: ProgramOptions = {}): void {
  const cmd = program
    .command("selfplay")
    .description("train a game agent by self-play (trainer: alphazero) or on heuristic-player games (trainer: sl-policy); writes runs/<name>/ with metrics.jsonl and checkpoints/best.safetensors")
    .argument("[recipe]", "YAML recipe (optional with --resume)")
    .option("--resume <run_dir>", "continue a run from its last checkpoint (network, optimizer, replay buffer, generator)")
    .option("--name <name>", "run name (default: <recipe>-<date>-<time>)")
    .option("--runs-dir <dir>", "folder that holds run directories", "runs")
    .option("--dry-run", "print the resolved config and exit")
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption("-h, --help", "display help; any other --key.path=value overrides that recipe key")
    .action(async (_recipe: string | undefined, opts: SelfplayOptions, command: Command) => {
      const [recipe, ...stray] = command.args.filter(a => !a.startsWith("-"));
      await train(recipe, { ...opts, port: "0" }, [...command.args.filter(a => a.startsWith("-")), ...stray], options.trainers);
    });
  withExamples(cmd, [
    "move37 selfplay recipes/alphazero-tictactoe.yaml",
    "move37 selfplay recipes/alphazero-connect4-cnn.yaml --name c4",
    "move37 selfplay recipes/sl-policy-connect4.yaml",
    "move37 selfplay --resume runs/c4",
  ]);
}
