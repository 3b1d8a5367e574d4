import type { Game, GameState } from "./games/game.js";
import { dirichlet, randInt, type Rng } from "../rng.js";

/**
 * Monte Carlo tree search with PUCT (AlphaZero): select by Q + c·P·√N / (1 + n), expand a leaf
 * with the evaluator's priors, back its value up the path with alternating sign.
 *
 * Batching: `runSimulations` advances many trees (one per concurrent game) a step at a time and
 * sends all their pending leaves to the evaluator in one batch, so the network runs one forward
 * per step for every game instead of one per leaf. With `leavesPerTree` > 1 each tree also adds
 * several leaves to a batch; virtual loss keeps their paths apart: every edge on a path that waits
 * for its evaluation counts as `virtualLoss` more visits, all lost, so the next descent prefers other moves.
 */

/** Priors over all action ids (zero for illegal ones, summing to 1) and a value in [−1, 1] for the mover. */
export interface Evaluation { priors: Float32Array; value: number }
/** Evaluates a batch of non-terminal positions. */
export interface Evaluator { evaluate(states: GameState[]): Evaluation[] }

export interface MctsOptions {
  /** Exploration constant c_puct. */
  cPuct: number;
  /** Dirichlet noise at the root: concentration and mixing weight (weight 0 = off, for play and arena). */
  dirichletAlpha: number;
  dirichletWeight: number;
  /** Leaves one tree adds to each evaluator batch (default 1: batching across trees only). */
  leavesPerTree?: number;
  /** Lost visits each pending descent counts as on every edge of its path (AlphaGo's n_vl; default 1, 0 = off). */
  virtualLoss?: number;
}

export class Node {
  readonly actions: number[];
  /** Per legal action (index into `actions`): prior, visit count, total value for this node's mover. */
  P: Float32Array;
  readonly N: Int32Array;
  readonly W: Float64Array;
  /** Per legal action: descents through it still waiting for their evaluation (virtual loss). */
  readonly pending: Int32Array;
  readonly children: Array<Node | undefined>;
  /** 1 (its own evaluation) + Σ N once expanded. */
  visits = 0;
  /** Σ pending. */
  pendingVisits = 0;
  expanded = false;
  readonly terminal: number | null;

  constructor(readonly state: GameState) {
    this.terminal = state.result();
    this.actions = this.terminal === null ? state.legalActions() : [];
    const k = this.actions.length;
    this.P = new Float32Array(k);
    this.N = new Int32Array(k);
    this.W = new Float64Array(k);
    this.pending = new Int32Array(k);
    this.children = new Array(k);
  }
}

interface Pending { path: Array<[Node, number]>; leaf: Node }

export class Mcts {
  root: Node;

  constructor(readonly game: Game, state: GameState, readonly opts: MctsOptions, private readonly rng: Rng) {
    this.root = new Node(state);
  }

  /**
   * Walk from the root by PUCT to a leaf (an unexpanded node or a finished game), marking the path
   * as pending (virtual loss) until `complete` or `abandon` is called with the result.
   */
  selectLeaf(): Pending {
    const path: Array<[Node, number]> = [];
    let node = this.root;
    while (node.expanded && node.terminal === null) {
      const i = this.selectChild(node);
      path.push([node, i]);
      node.pending[i]++;
      node.pendingVisits++;
      node = node.children[i] ??= new Node(node.state.play(node.actions[i]));
    }
    return { path, leaf: node };
  }

  /** Kept apart from N and W so that removing a virtual loss is exact (integers only). */
  private selectChild(node: Node): number {
    const vl = this.opts.virtualLoss ?? 1;
    const sqrtN = Math.sqrt(node.visits + vl * node.pendingVisits);
    let best = 0, bestScore = -Infinity;
    for (let i = 0; i < node.actions.length; i++) {
      const n = node.N[i] + vl * node.pending[i];
      const q = n > 0 ? (node.W[i] - vl * node.pending[i]) / n : 0;
      const score = q + this.opts.cPuct * node.P[i] * sqrtN / (1 + n);
      if (score > bestScore) { bestScore = score; best = i; }
    }
    return best;
  }

  /** Drop a selected path's virtual loss without counting a visit. */
  abandon(p: Pending): void {
    for (const [node, i] of p.path) { node.pending[i]--; node.pendingVisits--; }
  }

  /** Expand `leaf` with `ev` (unless terminal) and back the leaf's value up the path. */
  complete(p: Pending, ev: Evaluation | null): void {
    this.abandon(p);
    const { leaf } = p;
    let value: number;
    if (leaf.terminal !== null) value = leaf.terminal;
    else {
      if (!ev) throw new Error("mcts: a non-terminal leaf needs an evaluation");
      value = ev.value;
      if (!leaf.expanded) this.expand(leaf, ev.priors);
    }
    leaf.visits++;
    for (let k = p.path.length - 1; k >= 0; k--) {
      const [node, i] = p.path[k];
      value = -value;
      node.N[i]++;
      node.W[i] += value;
      node.visits++;
    }
  }

  private expand(node: Node, priors: Float32Array): void {
    let sum = 0;
    for (let i = 0; i < node.actions.length; i++) sum += priors[node.actions[i]];
    for (let i = 0; i < node.actions.length; i++)
      node.P[i] = sum > 0 ? priors[node.actions[i]] / sum : 1 / node.actions.length;
    node.expanded = true;
    if (node === this.root) this.addNoise();
  }

  /** Mix Dirichlet noise into the root priors (once per root, when it is expanded). */
  private noisedRoot: Node | null = null;
  addNoise(): void {
    const root = this.root;
    if (this.opts.dirichletWeight <= 0 || !root.expanded || this.noisedRoot === root || root.actions.length === 0) return;
    const eta = dirichlet(this.rng, this.opts.dirichletAlpha, root.actions.length);
    const w = this.opts.dirichletWeight;
    const P = new Float32Array(root.actions.length);
    for (let i = 0; i < P.length; i++) P[i] = (1 - w) * root.P[i] + w * eta[i];
    root.P = P;
    this.noisedRoot = root;
  }

  /** Root visit distribution over all action ids (the policy training target). */
  visitPolicy(): Float32Array {
    const pi = new Float32Array(this.game.actions);
    const r = this.root;
    let total = 0;
    for (let i = 0; i < r.actions.length; i++) total += r.N[i];
    for (let i = 0; i < r.actions.length; i++) pi[r.actions[i]] = total > 0 ? r.N[i] / total : 1 / r.actions.length;
    return pi;
  }

  /** Mean value of the root for its mover, from the search. */
  rootValue(): number {
    const r = this.root;
    let n = 0, w = 0;
    for (let i = 0; i < r.actions.length; i++) { n += r.N[i]; w += r.W[i]; }
    return n > 0 ? w / n : 0;
  }

  /**
   * Pick a move from the visit counts: temperature 0 = most visited (ties to the higher prior),
   * else sampled ∝ N^(1/temperature).
   */
  chooseAction(temperature: number): number {
    const r = this.root;
    if (r.actions.length === 0) throw new Error("mcts: the game is over, there is no move to choose");
    if (temperature <= 0) {
      let best = 0;
      for (let i = 1; i < r.actions.length; i++)
        if (r.N[i] > r.N[best] || (r.N[i] === r.N[best] && r.P[i] > r.P[best])) best = i;
      return r.actions[best];
    }
    const w = Array.from(r.N, n => Math.pow(n, 1 / temperature));
    const total = w.reduce((a, b) => a + b, 0);
    if (total === 0) return r.actions[randInt(this.rng, r.actions.length)];
    let u = this.rng.nextFloat() * total;
    for (let i = 0; i < w.length; i++) { u -= w[i]; if (u < 0) return r.actions[i]; }
    return r.actions[w.length - 1];
  }

  /** Move the root to the child reached by `action`, keeping its subtree (tree reuse). */
  advance(action: number): void {
    const i = this.root.actions.indexOf(action);
    if (i < 0) throw new Error(`mcts: action ${action} is not legal at the root`);
    this.root = this.root.children[i] ?? new Node(this.root.state.play(action));
  }
}

/**
 * Run `sims` more simulations in every tree, batching up to `leavesPerTree` leaves of every tree
 * into one evaluator call per step. Leaves that are finished games are scored without the
 * evaluator. A descent that ends on a leaf already in the batch (virtual loss could not steer it
 * elsewhere, e.g. at an unexpanded root) is abandoned, uncounted, and that tree waits for the next step.
 */
export function runSimulations(trees: Mcts[], evaluator: Evaluator, sims: number): void {
  const remaining = trees.map(() => sims);
  for (const t of trees) t.addNoise();
  for (;;) {
    const pending: Array<{ tree: Mcts; p: Pending }> = [];
    const waiting = new Set<Node>();
    for (let k = 0; k < trees.length; k++) {
      const leaves = trees[k].opts.leavesPerTree ?? 1;
      for (let taken = 0; taken < leaves && remaining[k] > 0;) {
        const p = trees[k].selectLeaf();
        if (waiting.has(p.leaf)) { trees[k].abandon(p); break; }
        remaining[k]--;
        if (p.leaf.terminal !== null) { trees[k].complete(p, null); continue; }
        pending.push({ tree: trees[k], p });
        waiting.add(p.leaf);
        taken++;
      }
    }
    if (pending.length === 0) return;
    const evs = evaluator.evaluate(pending.map(x => x.p.leaf.state));
    for (let k = 0; k < pending.length; k++) pending[k].tree.complete(pending[k].p, evs[k]);
  }
}

/** Uniform priors and value 0: MCTS then searches on game results alone (tests, a baseline). */
export function uniformEvaluator(game: Game): Evaluator {
  return {
    evaluate: states => states.map(() => ({ priors: new Float32Array(game.actions).fill(1 / game.actions), value: 0 })),
  };
}
