import { mirrorInput, type Game, type GameState } from "./games/game.js";
import type { Evaluation, Evaluator } from "./mcts.js";
import type { PolicyValueNetwork } from "./network.js";

export interface NetworkEvaluatorOptions {
  /**
   * Test-time mirror average: each position is evaluated as it is and mirrored left-right in the same forward (a batch
   * of 2B), and the evaluation is the mean of the two: priors ½(p + mirror(p′)) over the legal moves, value ½(v + v′).
   * A position and its mirror then get mirrored priors and the same value exactly. Costs twice the network's work.
   */
  mirror?: boolean;
}

/** The network as an MCTS evaluator: one forward per batch, priors = softmax over the legal moves. */
export function networkEvaluator(game: Game, net: PolicyValueNetwork, opts: NetworkEvaluatorOptions = {}): Evaluator {
  const I = game.inputSize, A = game.actions;
  if (opts.mirror) {
    const mirrored = Int32Array.from({ length: A }, (_, a) => game.mirrorAction(a));
    const back = new Float32Array(A), one = new Float32Array(I);
    return {
      evaluate(states: GameState[]): Evaluation[] {
        const B = states.length, x = net.input(2 * B);
        for (let b = 0; b < B; b++) {
          states[b].encode(one, 0);
          x.set(one, b * I);
          mirrorInput(game, one, 0, x, (B + b) * I);
        }
        const { logits, value } = net.forward(2 * B);
        return states.map((s, b) => {
          const p = legalSoftmax(s, logits, b * A, A);
          // the mirrored position's logit for move m(a) is its opinion of move a here
          for (let a = 0; a < A; a++) back[a] = logits[(B + b) * A + mirrored[a]];
          const q = legalSoftmax(s, back, 0, A);
          for (let a = 0; a < A; a++) p[a] = 0.5 * (p[a] + q[a]);
          return { priors: p, value: 0.5 * (value[b] + value[B + b]) };
        });
      },
    };
  }
  return {
    evaluate(states: GameState[]): Evaluation[] {
      const B = states.length;
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
