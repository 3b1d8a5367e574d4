// A GRPO run on the micro task in its own process (so a test can SIGKILL it): argv[2] is {recipe, root, runName}.
import { runTrainer } from "../train/trainer-harness.js";
import "../train/grpo-micro.js"; // registers the lowercase reward

const { recipe, root, runName } = JSON.parse(process.argv[2]) as { recipe: Record<string, unknown>; root: string; runName: string };
await runTrainer("grpo", recipe, { root, runName });
