import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { alphaBetaAgent, defaultAgentSpec, parseAgent, AgentSpecError, SHIPPED_CONNECT4 } from "../../src/selfplay/agents.js";
import { agentFromOptions, AgentOptionsError } from "../../src/cli/agent.js";
import { eloFromScore, playArena } from "../../src/selfplay/arena.js";
import { referenceBackend } from "../../src/engine/reference.js";
import { connect4 } from "../../src/selfplay/games/connect4.js";
import { ticTacToe } from "../../src/selfplay/games/tictactoe.js";
import { heuristicMove } from "../../src/selfplay/heuristic-player.js";
import { playActions } from "../../src/selfplay/games/game.js";
import { evaluatePons, loadPonsSet, PONS_DIR } from "../../src/selfplay/pons.js";
import { externalSkip } from "../external-data.js";
import { Rng } from "../../src/rng.js";

/** Runs one verb on a bare commander program, as src/cli/program.ts wires it. */
function runVerb(verb: string, args: string[], input = "") {
  const script = `import { Command } from "commander"; import { register } from "./src/cli/${verb}.ts";
    const p = new Command("move37"); register(p); await p.parseAsync(${JSON.stringify(["node", "move37", verb, ...args])});`;
  return spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { input, encoding: "utf8" });
}

test("arena: alpha-beta crushes random at Connect Four, draws itself at tic-tac-toe; counts add up", () => {
  const r = playArena(connect4, alphaBetaAgent(connect4, 4), parseAgent("random", connect4, referenceBackend), { games: 10, openingPlies: 2, seed: 3 });
  assert.equal(r.wins + r.draws + r.losses, 10);
  assert.ok(r.wins >= 9, `alphabeta:4 vs random ${JSON.stringify(r)}`);
  assert.ok(r.elo > 300);
  const t = playArena(ticTacToe, alphaBetaAgent(ticTacToe, 9), alphaBetaAgent(ticTacToe, 9), { games: 6, openingPlies: 0, seed: 1 });
  assert.equal(t.draws, 6);
  assert.equal(t.score, 0.5);
  assert.ok(Math.abs(t.elo) < 1e-9);
});

test("Elo from score: 76% ≈ +200, symmetric, finite at 0% and 100%", () => {
  assert.ok(Math.abs(eloFromScore(0.76, 1000) - 200) < 2);
  assert.ok(Math.abs(eloFromScore(0.3, 100) + eloFromScore(0.7, 100)) < 1e-9);
  assert.ok(Number.isFinite(eloFromScore(1, 10)) && eloFromScore(1, 10) > 0);
});

test("agent specs: bad ones fail with a named error", () => {
  assert.throws(() => parseAgent("alphabeta:x", connect4, referenceBackend), AgentSpecError);
  assert.throws(() => parseAgent("minimax:3", connect4, referenceBackend), AgentSpecError);
  assert.throws(() => parseAgent("mcts:foo", connect4, referenceBackend), AgentSpecError);
});

test("heuristic player takes wins, blocks, and loses to alpha-beta", () => {
  const rng = new Rng(1);
  assert.equal(heuristicMove(playActions(connect4, [0, 0, 1, 1, 2, 2]), rng, { temperature: 0.05, blunder: 1 }), 3);
  for (let i = 0; i < 20; i++) assert.equal(heuristicMove(playActions(connect4, [0, 6, 1, 6, 2]), rng, { temperature: 0.05, blunder: 0 }), 3);
  const r = playArena(connect4, alphaBetaAgent(connect4, 4), parseAgent("heuristic", connect4, referenceBackend), { games: 10, openingPlies: 2, seed: 5 });
  assert.ok(r.score >= 0.7, JSON.stringify(r));
});

test("Pons scoring: alpha-beta keeps the outcome on most easy_end positions and more often at depth 4 than 1", { skip: externalSkip(PONS_DIR) }, () => {
  const pos = loadPonsSet("easy_end", undefined, 100);
  const d1 = evaluatePons(alphaBetaAgent(connect4, 1), "easy_end", pos);
  const d4 = evaluatePons(alphaBetaAgent(connect4, 4), "easy_end", pos);
  assert.ok(d4.keepsOutcome >= d1.keepsOutcome && d4.keepsOutcome > 0.9, JSON.stringify([d1, d4]));
  assert.ok(d4.optimal <= d4.keepsOutcome);
  // a move that loses is never counted: the always-first-legal-column agent does far worse
  const naive = evaluatePons({ name: "first", act: ss => ss.map(s => s.legalActions()[0]) }, "easy_end", pos);
  assert.ok(naive.keepsOutcome < d4.keepsOutcome - 0.2);
});

test("`move37 agent connect4` answers one column per stdin line", () => {
  const r = runVerb("agent", ["connect4", "--depth", "4", "--backend", "reference"], "112233\n\n1234567\n8\n");
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 4, r.stderr);
  assert.equal(lines[0], "4");            // win in one: X holds 1-3 of the bottom row
  assert.match(lines[1], /^[1-7]$/);      // empty board
  assert.match(lines[2], /^[1-7]$/);
  assert.match(lines[3], /^error: /);
});

test("the shipped Connect Four checkpoint loads and its raw policy beats random", () => {
  const r = playArena(connect4, parseAgent(`net:${SHIPPED_CONNECT4}`, connect4, referenceBackend), parseAgent("random", connect4, referenceBackend), { games: 10, openingPlies: 2, seed: 11 });
  assert.ok(r.wins >= 9, JSON.stringify(r));
});

test("the default agent is the strongest shipped: `alphazero` (shipped network + MCTS) on Connect Four, alpha-beta 9 on tic-tac-toe", () => {
  assert.equal(defaultAgentSpec(connect4), "alphazero");
  assert.equal(defaultAgentSpec(ticTacToe), "alphabeta:9");
  const az = parseAgent("alphazero:40", connect4, referenceBackend);
  assert.equal(az.name, "alphazero:40");
  assert.equal(parseAgent("alphazero", connect4, referenceBackend).name, "alphazero:800");
  // the same moves as MCTS on the shipped checkpoint named by path
  const states = [connect4.initial(), playActions(connect4, [3, 3, 2]), playActions(connect4, [0, 6, 1, 6, 2])];
  assert.deepEqual(az.act(states), parseAgent(`mcts:${SHIPPED_CONNECT4}:40`, connect4, referenceBackend).act(states));
  assert.equal(az.act([playActions(connect4, [0, 6, 1, 6, 2])])[0], 3);      // takes the win on the bottom row
  for (const bad of ["alphazero:0", "alphazero:x", "alphazero:40:1"]) assert.throws(() => parseAgent(bad, connect4, referenceBackend), AgentSpecError, bad);
  assert.throws(() => parseAgent("alphazero", ticTacToe, referenceBackend), /shipped Connect Four network; for tictactoe use alphabeta:9/);
});

test("`move37 agent` options: the shipped network with MCTS by default, its raw policy with --sims 0, alpha-beta only by --depth", () => {
  assert.equal(agentFromOptions("connect4", { backend: "reference" }).name, `mcts:${SHIPPED_CONNECT4}:800`);
  assert.equal(agentFromOptions("connect4", { backend: "reference", sims: "0" }).name, `net:${SHIPPED_CONNECT4}`);
  assert.equal(agentFromOptions("connect4", { backend: "reference", checkpoint: SHIPPED_CONNECT4, sims: "50" }).name, `mcts:${SHIPPED_CONNECT4}:50`);
  assert.equal(agentFromOptions("connect4", { backend: "reference", depth: "6" }).name, "alphabeta:6");
  assert.throws(() => agentFromOptions("connect4", { backend: "reference", depth: "6", sims: "50" }), AgentOptionsError);
  assert.throws(() => agentFromOptions("connect4", { backend: "reference", depth: "6", checkpoint: SHIPPED_CONNECT4 }), AgentOptionsError);
});

test("`move37 play connect4` and `move37 arena` field the shipped network when no agent is named", () => {
  const play = runVerb("play", ["connect4", "--second"], "q\n");
  assert.match(play.stdout, /alphazero:800 plays [1-7]/, play.stderr);
  const arena = runVerb("arena", ["alphabeta:1", "--games", "2"]);
  const r = JSON.parse(arena.stdout.trim().split("\n").at(-1) ?? "");
  assert.equal(r.a, "alphabeta:1", arena.stderr);
  assert.equal(r.b, "alphazero:800");
  assert.equal(r.losses, 2);     // the shipped network beats alpha-beta depth 1 with either colour
  const both = runVerb("arena", ["alphabeta:4", "random", "--pons", "easy_end"]);
  assert.notEqual(both.status, 0);
  assert.match(both.stderr, /--pons scores agent A alone; drop agent B/);
});
