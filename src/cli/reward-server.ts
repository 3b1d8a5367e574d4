// `move37 reward-server`: the verifiable rewards behind HTTP, for OpenRLHF (--remote_rm_url), verl and TRL.
import { InvalidArgumentError, type Command } from "commander";
import { parseRewardList } from "../reward-server/protocol.js";
import { startRewardServer } from "../reward-server/server.js";
import { withExamples } from "./help.js";
import { output } from "./output.js";

interface Options { port: number; host: string; rewards: string; concurrency: number; queue: number; sandboxes: number; maxBodyMb: number; nullReward: number }

export function register(program: Command): void {
  const cmd = program
    .command("reward-server")
    .description("serve the verifiers over HTTP: OpenRLHF's remote reward protocol at POST /get_reward ({query, prompts, labels} → {rewards, scores, extra_logs}) and a plain batch endpoint POST /score ({rewards, items: [{completion, answer, ...}]}) for verl or TRL reward functions")
    .option("--port <port>", "port (0 = any free port)", whole(0), 5000)
    .option("--host <host>", "interface to listen on (0.0.0.0 to serve other machines)", "127.0.0.1")
    .option("--rewards <list>", "rewards summed into `rewards`, NAME or NAME:WEIGHT, comma-separated; the first also gives OpenRLHF's `scores` (see `move37 verify --help` for names)", "r1_math,format")
    .option("--concurrency <n>", "requests scored at once", whole(1), 4)
    .option("--queue <n>", "requests that may wait for a slot; beyond that the server answers 429 with Retry-After: 1", whole(0), 256)
    .option("--sandboxes <n>", "code-reward sandboxes (child processes) one request runs at once", whole(1), 2)
    .option("--max-body-mb <mb>", "largest request body, MiB (larger → 413)", finite, 16)
    .option("--null-reward <x>", "reward sent to OpenRLHF where a verifier cannot judge (null)", finite, 0)
    .action(async (opts: Options) => {
      const server = await startRewardServer({
        rewards: parseRewardList(opts.rewards), port: opts.port, host: opts.host, concurrency: opts.concurrency, queue: opts.queue,
        sandboxes: opts.sandboxes, maxBodyBytes: Math.round(opts.maxBodyMb * 2 ** 20), nullReward: opts.nullReward,
      });
      output.out(`reward server: ${server.url}/get_reward (OpenRLHF --remote_rm_url), ${server.url}/score (batch JSON)\n`);
      const stop = () => void server.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
  withExamples(cmd, [
    "move37 reward-server --port 5000 --rewards r1_math,format:0.5",
    "move37 reward-server --host 0.0.0.0 --rewards code --sandboxes 8 --concurrency 2",
    `curl -s localhost:5000/score -d '{"rewards":["math"],"items":[{"completion":"\\\\boxed{2}","answer":"2"}]}'`,
  ]);
}

/** Commander parser for a whole number ≥ min (commander prints the message and exits). */
function whole(min: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number ≥ ${min}, got "${text}".`);
    return n;
  };
}

function finite(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${text}".`);
  return n;
}
