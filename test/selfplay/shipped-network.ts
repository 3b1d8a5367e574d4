// What a Connect Four network of src/selfplay/weights/ computes on 48 positions: its raw outputs (logits, value) on the
// reference backend, and the moves its raw policy and a 40-simulation MCTS pick. Recorded once per network in
// test/fixtures/connect4-<name>-60min.json (write-shipped-network.ts); test/selfplay/shipped-network.test.ts holds the
// current code to them.
import { fileURLToPath } from "node:url";
import { referenceBackend } from "../../src/engine/reference.js";
import { mctsAgent, netAgent, SHIPPED_CONNECT4 } from "../../src/selfplay/agents.js";
import { loadCheckpoint } from "../../src/selfplay/checkpoint.js";
import { networkEvaluator } from "../../src/selfplay/evaluator.js";
import { connect4 } from "../../src/selfplay/games/connect4.js";
import type { GameState } from "../../src/selfplay/games/game.js";
import { Rng, randInt } from "../../src/rng.js";

/**
 * The recorded networks: the shipped CNN (recorded when it was shipped, 7 Dec 2026) and the residual MLP it replaced
 * (recorded before the self-play network moved onto the shared AdamW), kept as the README's "old" column.
 */
export const RECORDED = {
  cnn: SHIPPED_CONNECT4,
  mlp: fileURLToPath(new URL("../../src/selfplay/weights/connect4-mlp-60min.safetensors", import.meta.url)),
};
export type RecordedName = keyof typeof RECORDED;
export const fixtureUrl = (name: RecordedName) => new URL(`../fixtures/connect4-${name}-60min.json`, import.meta.url);

/** 48 positions: the opening, then random legal games cut at 1 to 30 plies. */
export function positions(): GameState[] {
  const rng = new Rng(2024), out: GameState[] = [connect4.initial()];
  while (out.length < 48) {
    let s = connect4.initial();
    const plies = 1 + randInt(rng, 30);
    for (let p = 0; p < plies && s.result() === null; p++) { const l = s.legalActions(); s = s.play(l[randInt(rng, l.length)]); }
    if (s.result() === null) out.push(s);
  }
  return out;
}

export function record(name: RecordedName): { logits: number[]; value: number[]; policyMoves: number[]; mctsMoves: number[] } {
  const { net } = loadCheckpoint(RECORDED[name], referenceBackend);
  const states = positions(), B = states.length;
  const x = net.input(B);
  states.forEach((s, b) => s.encode(x, b * connect4.inputSize));
  const out = net.forward(B);
  const logits = Array.from(out.logits), value = Array.from(out.value);
  const evaluator = networkEvaluator(connect4, net);
  return {
    logits, value,
    policyMoves: netAgent("net", evaluator).act(states),
    mctsMoves: mctsAgent("mcts", connect4, evaluator, 40).act(states.slice(0, 16)),
  };
}
