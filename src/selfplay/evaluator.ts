import type { Game, GameState } from "./games/game.js";
import type { Evaluation, Evaluator } from "./mcts.js";
import type { Network } from "./network.js";

/** The network as an MCTS evaluator: one forward per batch, priors = softmax over the legal moves. */
export function networkEvaluator(game: Game, net: Network): Evaluator {
  return {
    evaluate(states: GameState[]): Evaluation[] {
      const B = states.length, I = game.inputSize, A = game.actions;
      const x = net.input(B);
      for (let b = 0; b < B; b++) states[b].encode(x, b * I);
      const { logits, value } = net.forward(B);
      return states.map((s, b) => ({ priors: legalSoftmax(s, logits, b * A, A), value: value[b] }));
    },
  };
}

function legalSoftmax(s: GameState, logits: ArrayLike<number>, off: number, A: number): Float32Array {
  const p = new Float32Array(A);
  let max = -Infinity;
  for (let a = 0; a < A; a++) if (s.isLegal(a)) max = Math.max(max, logits[off + a]);
  let sum = 0;
  for (let a = 0; a < A; a++) if (s.isLegal(a)) { p[a] = Math.exp(logits[off + a] - max); sum += p[a]; }
  for (let a = 0; a < A; a++) p[a] /= sum;
  return p;
}
