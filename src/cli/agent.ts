// `move37 agent connect4`: a line protocol for outside programs: one position per stdin line (Pons' move sequence), one column per stdout line.
import { createInterface } from "node:readline";
import type { Command } from "commander";
import { getBackend, type BackendKind } from "../engine/index.js";
import { parseAgent, SHIPPED_CONNECT4, SHIPPED_SIMS, type Agent } from "../selfplay/agents.js";
import { parsePonsSequence } from "../selfplay/games/connect4.js";
import { getGame } from "../selfplay/games/index.js";
import { playActions } from "../selfplay/games/game.js";
import { withExamples } from "./help.js";

interface AgentOptions { checkpoint?: string; sims?: string; depth?: string; backend: BackendKind }

export class AgentOptionsError extends Error {
  constructor(why: string) {
    super(`agent: ${why}; use [--checkpoint C] [--sims N] for a network (the shipped one unless C; N = 0: raw policy) or --depth D for alpha-beta`);
    this.name = "AgentOptionsError";
  }
}

/** The agent the options describe: alpha-beta with --depth, else a network (the shipped one unless --checkpoint) with MCTS, or its raw policy with --sims 0. */
export function agentFromOptions(gameName: string, opts: AgentOptions): Agent {
  const game = getGame(gameName);
  const backend = getBackend(opts.backend);
  if (opts.depth !== undefined) {
    if (opts.checkpoint !== undefined || opts.sims !== undefined) throw new AgentOptionsError("--depth is for alpha-beta, not with --checkpoint or --sims");
    return parseAgent(`alphabeta:${opts.depth}`, game, backend);
  }
  const checkpoint = opts.checkpoint ?? SHIPPED_CONNECT4, sims = opts.sims ?? String(SHIPPED_SIMS);
  return parseAgent(sims === "0" ? `net:${checkpoint}` : `mcts:${checkpoint}:${sims}`, game, backend);
}

export function register(program: Command): void {
  const cmd = program
    .command("agent")
    .description("answer positions on stdin, one per line as Pons' move sequence (columns 1-7 from the empty board; an empty line is the empty board), with one line per position: the column played (1-7), or `error: ...`")
    .argument("[game]", "connect4", "connect4")
    .option("--checkpoint <path>", "a self-play checkpoint (network); default: the shipped network")
    .option("--sims <n>", `MCTS simulations per move (default ${SHIPPED_SIMS}; 0 = the network's raw policy)`)
    .option("--depth <d>", "play alpha-beta of this depth instead of a network")
    .option("--backend <kind>", "auto, native or reference", "auto")
    .action(async (gameName: string, opts: AgentOptions) => {
      if (gameName !== "connect4") throw new AgentOptionsError(`the line protocol is Connect Four's (Pons' notation), not ${gameName}`);
      const game = getGame(gameName);
      const agent = agentFromOptions(gameName, opts);
      const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
      for await (const line of rl) {
        const moves = parsePonsSequence(line);
        let answer: string;
        if (!moves) answer = `error: "${line.trim()}" is not a move sequence of columns 1-7`;
        else {
          try {
            const s = playActions(game, moves);
            answer = s.result() !== null ? "error: the game is over in this position" : String(agent.act([s])[0] + 1);
          } catch (e) {
            answer = `error: ${(e as Error).message}`;
          }
        }
        process.stdout.write(answer + "\n");
      }
    });
  withExamples(cmd, [
    "echo 4453 | move37 agent connect4",
    "echo 4453 | move37 agent connect4 --depth 8",
    "printf '\\n44\\n' | move37 agent connect4 --checkpoint runs/c4/checkpoints/best.safetensors --sims 400",
  ]);
}
