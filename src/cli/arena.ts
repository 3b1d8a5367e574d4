// `move37 arena A B --games N`: a match between two agents (win/draw/loss, score, Elo); `--pons` scores one agent on Pons' Connect Four sets.
import type { Command } from "commander";
import { getBackend, type BackendKind } from "../engine/index.js";
import { AGENT_SPECS, defaultAgentSpec, parseAgent } from "../selfplay/agents.js";
import { playArena } from "../selfplay/arena.js";
import { getGame } from "../selfplay/games/index.js";
import { evaluatePons, loadPonsSet, PONS_DIR, PONS_SETS } from "../selfplay/pons.js";
import { withExamples } from "./help.js";

interface ArenaOptions { game: string; games: string; openingPlies: string; seed: string; backend: BackendKind; pons?: string; ponsData: string; positions: string }

export class ArenaUsageError extends Error {
  constructor(why: string) {
    super(`arena: ${why}; see \`move37 arena --help\``);
    this.name = "ArenaUsageError";
  }
}

export function register(program: Command): void {
  const cmd = program
    .command("arena")
    .description(`play agent A against agent B (openings varied, colours swapped) and report wins/draws/losses, score and Elo; or score A on Pons' benchmark with --pons. An agent left out is the strongest Move37 ships (alphazero on connect4). Agents: ${AGENT_SPECS}`)
    .argument("[a]", "agent A (default: the strongest shipped, alphazero for connect4, alphabeta:9 for tictactoe)")
    .argument("[b]", "agent B (not with --pons; default as A's)")
    .option("--game <game>", "tictactoe or connect4", "connect4")
    .option("--games <n>", "games to play (pairs of the same opening with colours swapped)", "20")
    .option("--opening-plies <n>", "random plies before each pair of games", "2")
    .option("--seed <n>", "seed for openings and random agents", "1")
    .option("--backend <kind>", "auto, native or reference", "auto")
    .option("--pons [sets]", `score agent A on Pons' sets (comma-separated, default all: ${PONS_SETS.join(",")})`)
    .option("--pons-data <dir>", "folder with test_<set>.json", PONS_DIR)
    .option("--positions <n>", "positions per Pons set (max 1000)", "1000")
    .action((aArg: string | undefined, bArg: string | undefined, opts: ArenaOptions) => {
      if (bArg !== undefined && opts.pons !== undefined) throw new ArenaUsageError("--pons scores agent A alone; drop agent B");
      const game = getGame(opts.game);
      const aSpec = aArg ?? defaultAgentSpec(game), bSpec = bArg ?? defaultAgentSpec(game);
      const backend = getBackend(opts.backend);
      const seed = Number(opts.seed);
      const a = parseAgent(aSpec, game, backend, seed);
      if (opts.pons !== undefined) {
        if (game.name !== "connect4") throw new ArenaUsageError("--pons needs --game connect4");
        const sets = typeof opts.pons === "string" ? opts.pons.split(",") : [...PONS_SETS];
        process.stdout.write(`${"set".padEnd(14)} ${"positions".padStart(9)} ${"optimal".padStart(8)} ${"keeps".padStart(8)} ${"seconds".padStart(8)}\n`);
        const rows = [];
        for (const set of sets) {
          const r = evaluatePons(a, set, loadPonsSet(set, opts.ponsData, Number(opts.positions)));
          rows.push(r);
          process.stdout.write(`${set.padEnd(14)} ${String(r.positions).padStart(9)} ${(100 * r.optimal).toFixed(1).padStart(7)}% ${(100 * r.keepsOutcome).toFixed(1).padStart(7)}% ${r.seconds.toFixed(1).padStart(8)}\n`);
        }
        process.stdout.write(JSON.stringify({ agent: aSpec, pons: rows }) + "\n");
        return;
      }
      const r = playArena(game, a, parseAgent(bSpec, game, backend, seed + 1),
        { games: Number(opts.games), openingPlies: Number(opts.openingPlies), seed });
      process.stdout.write(`${r.a} vs ${r.b} (${game.name}, ${r.games} games): +${r.wins} =${r.draws} -${r.losses}  ` +
        `score ${(100 * r.score).toFixed(1)}%  Elo ${r.elo >= 0 ? "+" : ""}${r.elo.toFixed(0)}\n`);
      process.stdout.write(JSON.stringify(r) + "\n");
    });
  withExamples(cmd, [
    "move37 arena alphabeta:8 --games 100",
    "move37 arena --pons hard_begin",
    "move37 arena alphabeta:4 random --games 20",
    "move37 arena mcts:runs/c4/checkpoints/best.safetensors:200 alphabeta:4 --games 40",
    "move37 arena alphabeta:8 --pons easy_end,hard_begin --positions 200",
    "move37 arena heuristic alphabeta:1 --game tictactoe",
  ]);
}
