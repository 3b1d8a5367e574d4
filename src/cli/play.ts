// `move37 play connect4`: a person against an agent in the terminal.
import { createInterface } from "node:readline";
import type { Command } from "commander";
import { getBackend, type BackendKind } from "../engine/index.js";
import { AGENT_SPECS, defaultAgentSpec, parseAgent } from "../selfplay/agents.js";
import { getGame } from "../selfplay/games/index.js";
import { withExamples } from "./help.js";

interface PlayOptions { agent?: string; second?: boolean; backend: BackendKind }

export function register(program: Command): void {
  const cmd = program
    .command("play")
    .description("play a game against an agent in the terminal (you are X and move first unless --second)")
    .argument("[game]", "connect4 or tictactoe", "connect4")
    .option("--agent <spec>", `the opponent: ${AGENT_SPECS} (default: the strongest shipped, alphazero for connect4, alphabeta:9 for tictactoe)`)
    .option("--second", "let the agent move first")
    .option("--backend <kind>", "auto, native or reference", "auto")
    .action(async (gameName: string, opts: PlayOptions) => {
      const game = getGame(gameName);
      const agent = parseAgent(opts.agent ?? defaultAgentSpec(game), game, getBackend(opts.backend), Date.now() & 0xffff);
      const human = opts.second ? 1 : 0;
      // an iterator over lines (not rl.question) so lines typed or piped ahead of the prompt are kept
      const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
      const lines = rl[Symbol.asyncIterator]();
      const hint = game.name === "connect4" ? "column 1-7" : "cell 1-9 (1 = bottom left)";
      let s = game.initial();
      try {
        while (s.result() === null) {
          process.stdout.write(`\n${s.render()}\n`);
          if (s.toPlay === human) {
            process.stdout.write(`your move (${hint}, q to quit): `);
            const next = await lines.next();
            const text: string = next.done ? "q" : next.value;
            if (text.trim() === "q") return;
            const a = game.parseAction(text);
            if (a === null || !s.isLegal(a)) { process.stdout.write(`"${text.trim()}" is not a legal move here\n`); continue; }
            s = s.play(a);
          } else {
            const a = agent.act([s])[0];
            process.stdout.write(`${agent.name} plays ${game.formatAction(a)}\n`);
            s = s.play(a);
          }
        }
        process.stdout.write(`\n${s.render()}\n${s.result() === 0 ? "draw" : s.toPlay === human ? "you lose" : "you win"}\n`);
      } finally {
        rl.close();
      }
    });
  withExamples(cmd, [
    "move37 play connect4",
    "move37 play connect4 --agent alphazero:200 --second",
    "move37 play connect4 --agent alphabeta:6",
    "move37 play tictactoe",
  ]);
}
