// The `move37` command: one file per verb, each exporting register(program).
import { Command } from "commander";
import { withExamples } from "./help.js";
import { output } from "./output.js";
import { register as train, type ProgramOptions } from "./train.js";
import { register as runs } from "./runs.js";
import { register as recipes } from "./recipes.js";
import { register as config } from "./config.js";
import { register as dashboard } from "./dashboard.js";
import { register as bench } from "./bench.js";
import { register as doctor } from "./doctor.js";
import { register as generate } from "./generate.js";
import { register as chat } from "./chat.js";
import { register as exportModel } from "./export.js";
import { register as selfplay } from "./selfplay.js";
import { register as arena } from "./arena.js";
import { register as play } from "./play.js";
import { register as agent } from "./agent.js";
import { register as verify } from "./verify.js";
import { register as evaluate } from "./eval.js";
import { register as sample } from "./sample.js";
import { register as prefs } from "./prefs.js";
import { register as distill } from "./distill.js";
import { register as pipeline } from "./pipeline.js";
import { register as serve } from "./serve.js";
import { register as rewardServer } from "./reward-server.js";
import { register as selfplayWorker } from "./selfplay-worker.js";
import { register as download } from "./download.js";
import { register as models } from "./models.js";

const VERBS: ((program: Command, options: ProgramOptions) => void)[] = [train, pipeline, distill, verify, rewardServer, evaluate, sample, prefs, generate, chat, serve, exportModel, selfplay, selfplayWorker, arena, play, agent, runs, recipes, download, models, config, dashboard, bench, doctor];

/** The CLI; `options.trainers` replaces the trainer list of src/cli/trainers.ts (tests run trainers of their own). */
export function buildProgram(options: ProgramOptions = {}): Command {
  const program = new Command("move37")
    .description("Move37: reinforcement learning from verifiable rewards (R1-Zero, GRPO, distillation) and AlphaZero self-play, on a CPU")
    .version("0.1.0")
    .showHelpAfterError("(add --help for usage)")
    .enablePositionalOptions()
    .configureOutput({ writeOut: s => output.out(s), writeErr: s => output.err(s) });
  for (const register of VERBS) register(program, options);
  return withExamples(program, ["move37 train recipes/r1-zero-tiny.yaml --dashboard", "move37 runs ls", "move37 doctor"]);
}
