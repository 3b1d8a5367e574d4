import { fileURLToPath } from "node:url";
import type { Backend } from "../engine/backend.js";
import { AlphaBeta } from "./alphabeta.js";
import { loadCheckpoint } from "./checkpoint.js";
import { networkEvaluator } from "./evaluator.js";
import type { Game, GameState } from "./games/game.js";
import { heuristicMove } from "./heuristic-player.js";
import { Mcts, runSimulations, uniformEvaluator, type Evaluator } from "./mcts.js";
import { randInt, Rng } from "../rng.js";

/**
 * A player: picks one move for each of a batch of positions (batching lets MCTS agents share
 * one network forward across all the games an arena or benchmark plays at once).
 */
export interface Agent {
  readonly name: string;
  act(states: GameState[]): number[];
}

export const AGENT_SPECS = "alphazero[:SIMS] (the shipped Connect Four network with MCTS, 800 simulations unless SIMS) | random | heuristic | alphabeta:DEPTH | net:CKPT | mcts:CKPT:SIMS | mcts:uniform:SIMS (net+mirror, mcts+mirror: average each evaluation with the mirrored position's)";

/**
 * The Connect Four network Move37 ships: the `alphazero` agent and the default opponent. The residual CNN of
 * recipes/alphazero-connect4-cnn.yaml after its hour; weights/connect4-mlp-60min.safetensors is the MLP it replaced
 * (docs/selfplay.md).
 */
export const SHIPPED_CONNECT4 = fileURLToPath(new URL("./weights/connect4-cnn-60min.safetensors", import.meta.url));
/** Simulations a move of the `alphazero` agent: the count the README's strength figures were measured at. */
export const SHIPPED_SIMS = 800;

/** The strongest player Move37 ships for a game: the shipped network with MCTS for Connect Four, perfect alpha-beta for tic-tac-toe. */
export function defaultAgentSpec(game: Game): string {
  return game.name === "connect4" ? "alphazero" : "alphabeta:9";
}

export class AgentSpecError extends Error {
  constructor(spec: string, why: string) {
    super(`agent "${spec}": ${why}; agents are ${AGENT_SPECS} (e.g. mcts:runs/c4/checkpoints/best.safetensors:200)`);
    this.name = "AgentSpecError";
  }
}

export class WrongGameError extends Error {
  constructor(spec: string, has: string, want: string) {
    super(`agent "${spec}" was trained on ${has}, not ${want}: pick a checkpoint of ${want}`);
    this.name = "WrongGameError";
  }
}

/** MCTS with no noise and the most visited move (play strength, not exploration). */
export function mctsAgent(name: string, game: Game, evaluator: Evaluator, sims: number, cPuct = 1.5): Agent {
  const rng = new Rng(0);
  return {
    name,
    act(states) {
      const trees = states.map(s => new Mcts(game, s, { cPuct, dirichletAlpha: 1, dirichletWeight: 0 }, rng));
      runSimulations(trees, evaluator, sims);
      return trees.map(t => t.chooseAction(0));
    },
  };
}

/** The raw policy: the legal move with the highest prior (no search). */
export function netAgent(name: string, evaluator: Evaluator): Agent {
  return {
    name,
    act(states) {
      return evaluator.evaluate(states).map(e => {
        let best = 0;
        for (let a = 1; a < e.priors.length; a++) if (e.priors[a] > e.priors[best]) best = a;
        return best;
      });
    },
  };
}

export function alphaBetaAgent(game: Game, depth: number): Agent {
  const ab = new AlphaBeta(game);
  return { name: `alphabeta:${depth}`, act: states => states.map(s => ab.search(s, depth).action) };
}

export function parseAgent(spec: string, game: Game, backend: Backend, seed = 1): Agent {
  const parts = spec.split(":");
  const kind = parts[0];
  const int = (text: string | undefined, what: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new AgentSpecError(spec, `${what} must be a positive integer, got "${text ?? ""}"`);
    return n;
  };
  const mirror = kind.endsWith("+mirror");
  const loadEval = (path: string): Evaluator => {
    if (path === "uniform") return uniformEvaluator(game);
    const ck = loadCheckpoint(path, backend);
    if (ck.game.name !== game.name) throw new WrongGameError(spec, ck.game.name, game.name);
    return networkEvaluator(game, ck.net, { mirror });
  };
  const rng = new Rng(seed);
  switch (kind) {
    case "alphazero": {
      if (game.name !== "connect4") throw new AgentSpecError(spec, `alphazero is the shipped Connect Four network; for ${game.name} use ${defaultAgentSpec(game)}`);
      if (parts.length > 2) throw new AgentSpecError(spec, "alphazero takes at most a simulation count (alphazero:400)");
      const sims = parts.length > 1 ? int(parts[1], "the simulation count") : SHIPPED_SIMS;
      return mctsAgent(`alphazero:${sims}`, game, loadEval(SHIPPED_CONNECT4), sims);
    }
    case "random":
      return { name: spec, act: states => states.map(s => { const l = s.legalActions(); return l[randInt(rng, l.length)]; }) };
    case "heuristic":
      return { name: spec, act: states => states.map(s => heuristicMove(s, rng)) };
    case "alphabeta":
      return alphaBetaAgent(game, int(parts[1], "the depth"));
    case "net":
    case "net+mirror":
      if (parts.length < 2) throw new AgentSpecError(spec, "net needs a checkpoint path");
      return netAgent(spec, loadEval(parts.slice(1).join(":")));
    case "mcts":
    case "mcts+mirror": {
      if (parts.length < 3) throw new AgentSpecError(spec, "mcts needs a checkpoint (or uniform) and a simulation count");
      const sims = int(parts[parts.length - 1], "the simulation count");
      return mctsAgent(spec, game, loadEval(parts.slice(1, -1).join(":")), sims);
    }
    default:
      throw new AgentSpecError(spec, `unknown kind "${kind}"`);
  }
}
