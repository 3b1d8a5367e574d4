import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { alphaBetaAgent, parseAgent, AgentSpecError } from "../../src/selfplay/agents.js";
import { eloFromScore, playArena } from "../../src/selfplay/arena.js";
import { referenceBackend } from "../../src/engine/reference.js";
import { connect4 } from "../../src/selfplay/games/connect4.js";
import { ticTacToe } from "../../src/selfplay/games/tictactoe.js";
import { heuristicMove } from "../../src/selfplay/heuristic-player.js";
import { playActions } from "../../src/selfplay/games/game.js";
import { evaluatePons, loadPonsSet, PONS_DIR } from "../../src/selfplay/pons.js";
import { externalSkip } from "../external-data.js";
import { Rng } from "../../src/rng.js";

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
  // the verb alone on a bare commander program, as src/cli/program.ts wires it
  const script = `import { Command } from "commander"; import { register } from "./src/cli/agent.ts";
    const p = new Command("move37"); register(p); await p.parseAsync(["node", "move37", "agent", "connect4", "--depth", "4", "--backend", "reference"]);`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script],
    { input: "112233\n\n1234567\n8\n", encoding: "utf8" });
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 4, r.stderr);
  assert.equal(lines[0], "4");            // win in one: X holds 1-3 of the bottom row
  assert.match(lines[1], /^[1-7]$/);      // empty board
  assert.match(lines[2], /^[1-7]$/);
  assert.match(lines[3], /^error: /);
});

test("the shipped Connect Four checkpoint loads and its raw policy beats random", () => {
  const path = "src/selfplay/weights/connect4-alphazero-60min.safetensors";
  const r = playArena(connect4, parseAgent(`net:${path}`, connect4, referenceBackend), parseAgent("random", connect4, referenceBackend), { games: 10, openingPlies: 2, seed: 11 });
  assert.ok(r.wins >= 9, JSON.stringify(r));
});
