import type { Buf } from "../engine/backend.js";
import { mirrorInput, type Game } from "./games/game.js";
import { randInt, type Rng } from "../rng.js";

/**
 * Replay buffer: a ring of the last `capacity` training positions (input planes, visit-count
 * policy, game result for the mover). Sampling mirrors each position left-right with
 * probability ½ (input planes and policy together): the board's symmetry doubles the data.
 */
export class ReplayBuffer {
  readonly x: Float32Array;   // [capacity, I]
  readonly pi: Float32Array;  // [capacity, A]
  readonly z: Float32Array;   // [capacity]
  /** Positions held (≤ capacity) and total ever added (the ring's write cursor is added % capacity). */
  size = 0;
  added = 0;

  constructor(readonly game: Game, readonly capacity: number) {
    this.x = new Float32Array(capacity * game.inputSize);
    this.pi = new Float32Array(capacity * game.actions);
    this.z = new Float32Array(capacity);
  }

  add(x: Float32Array, pi: Float32Array, z: number): void {
    const i = this.added % this.capacity;
    this.x.set(x, i * this.game.inputSize);
    this.pi.set(pi, i * this.game.actions);
    this.z[i] = z;
    this.added++;
    this.size = Math.min(this.capacity, this.size + 1);
  }

  /** Writes B random positions into x[B,I], pi[B,A], z[B]. */
  sample(B: number, rng: Rng, mirror: boolean, x: Buf, pi: Buf, z: Buf): void {
    const { inputSize: I, actions: A } = this.game;
    for (let b = 0; b < B; b++) {
      const i = randInt(rng, this.size);
      const flip = mirror && rng.nextFloat() < 0.5;
      if (!flip) {
        for (let k = 0; k < I; k++) x[b * I + k] = this.x[i * I + k];
        for (let a = 0; a < A; a++) pi[b * A + a] = this.pi[i * A + a];
      } else {
        mirrorInput(this.game, this.x, i * I, x, b * I);
        for (let a = 0; a < A; a++) pi[b * A + this.game.mirrorAction(a)] = this.pi[i * A + a];
      }
      z[b] = this.z[i];
    }
  }
}
