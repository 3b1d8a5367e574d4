/**
 * Self-play throughput at the settings of recipes/alphazero-connect4.yaml: MCTS simulations per
 * second and self-play games per hour (network of the recipe's size, random weights: speed does
 * not depend on what the weights are), plus the search overhead alone (uniform evaluator), the
 * network's batched forward, and alpha-beta nodes per second.
 *
 * Peer: none. No other AlphaZero/Connect Four implementation is installable here (npm and Debian
 * only), so peer and peer_value are null in the JSON lines.
 *
 *   npm run bench -- selfplay [--games N]
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { getBackend } from "../src/engine/index.js";
import { AlphaBeta } from "../src/selfplay/alphabeta.js";
import { AlphaZeroConfig } from "../src/selfplay/alphazero.js";
import { networkEvaluator } from "../src/selfplay/evaluator.js";
import { connect4 } from "../src/selfplay/games/connect4.js";
import { uniformEvaluator, type Evaluator } from "../src/selfplay/mcts.js";
import { Network } from "../src/selfplay/network.js";
import { loadPonsSet } from "../src/selfplay/pons.js";
import { ReplayBuffer } from "../src/selfplay/replay.js";
import { Rng } from "../src/rng.js";
import { playSelfPlayGames } from "../src/selfplay/selfplay-games.js";

const RECIPE = new URL("../recipes/alphazero-connect4.yaml", import.meta.url);
const { trainer: _t, ...recipe } = parse(readFileSync(RECIPE, "utf8")) as Record<string, unknown>;
const cfg = AlphaZeroConfig.parse(recipe);
const gi = process.argv.indexOf("--games");
const games = gi > 0 ? Number(process.argv[gi + 1]) : cfg.selfplay.games_per_iteration;

const backend = getBackend(cfg.backend);
const net = new Network({ ...cfg.network, inputSize: connect4.inputSize, actions: connect4.actions }, backend);
net.init(new Rng(1));
const sp = cfg.selfplay;

function selfPlay(ev: Evaluator): { simsPerSecond: number; gamesPerHour: number } {
  const t0 = performance.now();
  const st = playSelfPlayGames(connect4, ev, {
    games, concurrency: sp.concurrency, simulations: sp.simulations, cPuct: sp.c_puct,
    dirichletAlpha: sp.dirichlet_alpha, dirichletWeight: sp.dirichlet_weight, temperatureMoves: sp.temperature_moves,
  }, new Rng(2), new ReplayBuffer(connect4, 100_000));
  const s = (performance.now() - t0) / 1000;
  return { simsPerSecond: st.simulations / s, gamesPerHour: st.games / s * 3600 };
}

const withNet = selfPlay(networkEvaluator(connect4, net));
const searchOnly = selfPlay(uniformEvaluator(connect4));

const B = sp.concurrency;
net.input(B).fill(0.5);
let t0 = performance.now(), reps = 0;
while (performance.now() - t0 < 2000) { net.forward(B); reps++; }
const forwardPerSecond = reps * B / ((performance.now() - t0) / 1000);

const ab = new AlphaBeta(connect4);
const positions = loadPonsSet("medium_middle", undefined, 20);
let nodes = 0;
t0 = performance.now();
for (const p of positions) { ab.search(p.state, 8); nodes += ab.nodes; }
const abNodesPerSecond = nodes / ((performance.now() - t0) / 1000);

const settings = `hidden ${cfg.network.hidden}, ${cfg.network.blocks} blocks, ${sp.simulations} sims/move, ${sp.concurrency} games at once, ${games} games, backend ${backend.name}`;
const figures = [
  { figure: "mcts_simulations_per_second", unit: "sims/s", value: withNet.simsPerSecond },
  { figure: "selfplay_games_per_hour", unit: "games/h", value: withNet.gamesPerHour },
  { figure: "mcts_search_only_simulations_per_second", unit: "sims/s", value: searchOnly.simsPerSecond },
  { figure: "network_forward_positions_per_second", unit: "positions/s", value: forwardPerSecond },
  { figure: "alphabeta_depth8_nodes_per_second", unit: "nodes/s", value: abNodesPerSecond },
];
console.log(`selfplay bench (${settings}); peer: none available`);
for (const f of figures) console.log(`${f.figure.padEnd(42)} ${f.value.toFixed(0).padStart(10)} ${f.unit}`);
for (const f of figures) console.log(JSON.stringify({ bench: "selfplay", ...f, peer: null, peer_value: null, ratio: null }));
