/**
 * Self-play throughput at the settings of the Connect Four recipes, one case per network:
 * recipes/alphazero-connect4.yaml (the residual MLP, shipped until 7 Dec 2026: figures without a prefix, as before),
 * recipes/alphazero-connect4-transformer.yaml (the cells-as-tokens transformer, figures prefixed `transformer_`) and
 * recipes/alphazero-connect4-cnn.yaml (the residual CNN, the shipped network's: figures prefixed `cnn_`):
 * MCTS simulations per second and self-play games per hour (random weights: speed does not depend on what the
 * weights are), the network's batched forward at the self-play batch and its training step at the recipe's batch
 * (positions per second); plus the search overhead alone (uniform evaluator) and alpha-beta nodes per second.
 *
 * Peer: none. No other AlphaZero/Connect Four implementation is installable here (npm and Debian
 * only), so peer and peer_value are null in the JSON lines.
 *
 *   npm run bench -- selfplay [--games N] [--network mlp|transformer|cnn]
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { getBackend } from "../src/engine/index.js";
import { AlphaBeta } from "../src/selfplay/alphabeta.js";
import { AlphaZeroConfig } from "../src/selfplay/alphazero.js";
import { networkEvaluator } from "../src/selfplay/evaluator.js";
import { connect4 } from "../src/selfplay/games/connect4.js";
import { uniformEvaluator, type Evaluator } from "../src/selfplay/mcts.js";
import { createNetwork, describeNetwork, shapeFor } from "../src/selfplay/network.js";
import { loadPonsSet } from "../src/selfplay/pons.js";
import { ReplayBuffer } from "../src/selfplay/replay.js";
import { Rng } from "../src/rng.js";
import { playSelfPlayGames } from "../src/selfplay/selfplay-games.js";

const CASES = [
  { network: "mlp", recipe: "alphazero-connect4.yaml", prefix: "" },
  { network: "transformer", recipe: "alphazero-connect4-transformer.yaml", prefix: "transformer_" },
  { network: "cnn", recipe: "alphazero-connect4-cnn.yaml", prefix: "cnn_" },
];
const arg = (name: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const only = arg("--network");
const figures: Array<{ figure: string; unit: string; value: number }> = [];
const settings: string[] = [];

function selfPlay(cfg: AlphaZeroConfig, ev: Evaluator, games: number): { simsPerSecond: number; gamesPerHour: number } {
  const sp = cfg.selfplay;
  const t0 = performance.now();
  const st = playSelfPlayGames(connect4, ev, {
    games, concurrency: sp.concurrency, simulations: sp.simulations, cPuct: sp.c_puct,
    dirichletAlpha: sp.dirichlet_alpha, dirichletWeight: sp.dirichlet_weight, temperatureMoves: sp.temperature_moves,
  }, new Rng(2), new ReplayBuffer(connect4, 100_000));
  const s = (performance.now() - t0) / 1000;
  return { simsPerSecond: st.simulations / s, gamesPerHour: st.games / s * 3600 };
}

/** Positions per second of `fn(B)` repeated for about two seconds. */
function rate(B: number, fn: () => void): number {
  const t0 = performance.now();
  let reps = 0;
  while (performance.now() - t0 < 2000) { fn(); reps++; }
  return reps * B / ((performance.now() - t0) / 1000);
}

let backendName = "";
let searchCfg: AlphaZeroConfig | null = null, searchGames = 0;
for (const c of CASES) {
  if (only && only !== c.network) continue;
  const { trainer: _t, ...recipe } = parse(readFileSync(new URL(`../recipes/${c.recipe}`, import.meta.url), "utf8")) as Record<string, unknown>;
  const cfg = AlphaZeroConfig.parse(recipe);
  const games = Number(arg("--games") ?? cfg.selfplay.games_per_iteration);
  const backend = getBackend(cfg.backend);
  backendName = backend.name;
  const net = createNetwork(shapeFor(cfg.network, connect4), backend);
  net.init(new Rng(1));
  const sp = cfg.selfplay;
  const withNet = selfPlay(cfg, networkEvaluator(connect4, net, { mirror: sp.test_time_mirror }), games);
  const B = sp.concurrency;
  const x = net.input(B);
  for (let i = 0; i < x.length; i++) x[i] = (i * 7919) % 3 === 0 ? 1 : 0; // a board-like 0/1 input (the transformer reads cells)
  const forwardPerSecond = rate(B, () => net.forward(B));
  const TB = cfg.train.batch_size, xt = net.input(TB);
  for (let i = 0; i < xt.length; i++) xt[i] = (i * 7919) % 3 === 0 ? 1 : 0;
  const pi = new Float32Array(TB * connect4.actions).fill(1 / connect4.actions), z = new Float32Array(TB);
  const trainPerSecond = rate(TB, () => { net.forward(TB); net.flatGrads.fill(0); net.backward(pi, z, 1); });
  const n = cfg.network;
  settings.push(`${c.network}: ${describeNetwork(n)}, ${net.size} parameters, ${sp.simulations} sims/move, ${sp.concurrency} games at once, ${games} games`);
  figures.push(
    { figure: `${c.prefix}mcts_simulations_per_second`, unit: "sims/s", value: withNet.simsPerSecond },
    { figure: `${c.prefix}selfplay_games_per_hour`, unit: "games/h", value: withNet.gamesPerHour },
    { figure: `${c.prefix}network_forward_positions_per_second`, unit: "positions/s", value: forwardPerSecond },
    { figure: `${c.prefix}network_train_positions_per_second`, unit: "positions/s", value: trainPerSecond },
  );
  searchCfg ??= cfg; searchGames ||= games;
}
if (searchCfg) figures.push({ figure: "mcts_search_only_simulations_per_second", unit: "sims/s", value: selfPlay(searchCfg, uniformEvaluator(connect4), searchGames).simsPerSecond });

const ab = new AlphaBeta(connect4);
const positions = loadPonsSet("medium_middle", undefined, 20);
let nodes = 0;
const t0 = performance.now();
for (const p of positions) { ab.search(p.state, 8); nodes += ab.nodes; }
figures.push({ figure: "alphabeta_depth8_nodes_per_second", unit: "nodes/s", value: nodes / ((performance.now() - t0) / 1000) });

console.log(`selfplay bench (${settings.join("; ")}; backend ${backendName}); peer: none available`);
for (const f of figures) console.log(`${f.figure.padEnd(42)} ${f.value.toFixed(0).padStart(10)} ${f.unit}`);
for (const f of figures) console.log(JSON.stringify({ bench: "selfplay", ...f, peer: null, peer_value: null, ratio: null }));
