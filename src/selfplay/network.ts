import type { Backend, Buf } from "../engine/backend.js";
import { normal, type Rng } from "../rng.js";
import { z } from "zod";
import { CnnNetwork } from "./cnn-network.js";
import { TransformerNetwork } from "./transformer-network.js";

/**
 * The policy/value networks self-play trains, selected by the recipe's `network.kind`:
 *
 * - `mlp` (the default): a residual MLP over the 2-plane input (this file).
 * - `transformer`: the board's cells as tokens with learned positions, bidirectional attention, a policy and a value
 *   head on a CLS token (src/selfplay/transformer-network.ts).
 * - `cnn`: AlphaZero's residual CNN of 3×3 convolutions over the board (src/selfplay/cnn-network.ts).
 *
 * All share one interface (PolicyValueNetwork): an input buffer [B,I] to fill, forward → logits [B,A] and value [B],
 * backward of the AlphaZero loss (policyValueLoss) into flat gradients, flat parameters with named views (llm.c), the
 * shape src/train/optimizer.ts's AdamW trains.
 */
const NetworkKeys = z.object({
  /** "mlp": residual MLP; "transformer": cells as tokens; "cnn": residual CNN (see above). */
  kind: z.enum(["mlp", "transformer", "cnn"]).default("mlp"),
  /** MLP: hidden width; transformer: the model width (hidden_size). Default 128. */
  hidden: z.number().int().min(1).optional(),
  /** MLP: residual blocks (default 2); transformer: layers (attention + SwiGLU MLP each, default 2); CNN: residual blocks (default 3). */
  blocks: z.number().int().min(0).optional(),
  /** Transformer only: attention heads (default 4; hidden must be a multiple). */
  heads: z.number().int().min(1).optional(),
  /** Transformer only: the SwiGLU MLP's width (default 2 · hidden). */
  intermediate: z.number().int().min(1).optional(),
  /** CNN only: channels of every 3×3 convolution (default 32). */
  channels: z.number().int().min(1).optional(),
  /** CNN only: the value head's hidden width (default 64). */
  value_hidden: z.number().int().min(1).optional(),
}).strict();

/** The kinds each key belongs to (kind and blocks belong to all). */
const KEY_KINDS: Record<string, readonly NetworkKind[]> = {
  hidden: ["mlp", "transformer"], heads: ["transformer"], intermediate: ["transformer"], channels: ["cnn"], value_hidden: ["cnn"],
};
type NetworkKind = z.infer<typeof NetworkKeys>["kind"];

export interface MlpConfig { kind: "mlp"; hidden: number; blocks: number }
export interface TransformerConfig { kind: "transformer"; hidden: number; blocks: number; heads?: number; intermediate?: number }
export interface CnnConfig { kind: "cnn"; channels: number; blocks: number; value_hidden: number }
export type NetworkConfig = MlpConfig | TransformerConfig | CnnConfig;

/** A recipe's `network`: the keys of its kind only, the kind's defaults filled in. */
export const NetworkConfigSchema = NetworkKeys.superRefine((c, ctx) => {
  for (const [key, kinds] of Object.entries(KEY_KINDS))
    if (c[key as keyof typeof c] !== undefined && !kinds.includes(c.kind))
      ctx.addIssue({ code: "custom", path: [key], message: `${key} is ${kinds[0] === "mlp" ? "an" : "a"} ${kinds.join(" and ")} setting, not the ${c.kind}'s; set kind: ${kinds[0]} or remove it` });
  if (c.kind === "transformer" && (c.hidden ?? 128) % (c.heads ?? 4) !== 0)
    ctx.addIssue({ code: "custom", path: ["hidden"], message: `hidden ${c.hidden ?? 128} must be a multiple of heads (${c.heads ?? 4})` });
}).transform((c): NetworkConfig => c.kind === "cnn"
  ? { kind: "cnn", channels: c.channels ?? 32, blocks: c.blocks ?? 3, value_hidden: c.value_hidden ?? 64 }
  : { ...c, kind: c.kind, hidden: c.hidden ?? 128, blocks: c.blocks ?? 2 } as MlpConfig | TransformerConfig);

/**
 * A network config with what the game fixes: the input size (2 planes × rows × cols), the number of actions, and the
 * board's rows × cols (the CNN needs them; shapeFor fills them in).
 */
export type NetworkShape = MlpShape | TransformerShape | CnnShape;
interface GameDims { inputSize: number; actions: number; rows?: number; cols?: number }
/** An MLP's shape may leave out the kind (the default; older code and files). */
export type MlpShape = Omit<MlpConfig, "kind"> & { kind?: "mlp" } & GameDims;
export type TransformerShape = TransformerConfig & GameDims;
export type CnnShape = CnnConfig & GameDims;

/** The shape of a `config` network for `game`. */
export function shapeFor(config: NetworkConfig, game: { inputSize: number; actions: number; rows: number; cols: number }): NetworkShape {
  return { ...config, inputSize: game.inputSize, actions: game.actions, rows: game.rows, cols: game.cols };
}

/** A named parameter: views of its values and its gradient in the flat buffers. */
export interface NetworkParam<F extends Buf> { name: string; shape: number[]; data: F; grad: F }

/** What self-play, training, the evaluator and checkpoints see of a network (MlpNetwork, TransformerNetwork, CnnNetwork). */
export interface PolicyValueNetwork<F extends Buf = Float32Array> {
  readonly shape: NetworkShape;
  readonly backend: Backend;
  /** Parameters in all. */
  readonly size: number;
  readonly flatParams: F;
  readonly flatGrads: F;
  readonly params: NetworkParam<F>[];
  init(rng: Rng): void;
  /** Input buffer (at least [B,I]) to fill before `forward(B)`. */
  input(B: number): Buf;
  /** Forward on the batch written into `input(B)`. Returns views of logits [B,A] and value [B] (valid until the next call). */
  forward(B: number): { logits: Buf; value: Buf };
  /**
   * Loss of the last forward (policyValueLoss) and accumulation of its gradient into `flatGrads` (zero them before).
   */
  backward(pi: Buf, z: Buf, valueWeight: number): { policyLoss: number; valueLoss: number };
  /** Copy weights (not optimizer state) from another network of the same config. */
  copyFrom(other: PolicyValueNetwork<Buf>): void;
}

/** Flat parameter and gradient buffers for `specs` (name, shape) in order, and named views into them (llm.c's layout). */
export function flatParameters<F extends Buf>(specs: Array<[string, number[]]>, ctor: { new(n: number): F }):
  { size: number; flatParams: F; flatGrads: F; params: NetworkParam<F>[]; view: Map<string, NetworkParam<F>> } {
  const size = specs.reduce((s, [, sh]) => s + sh.reduce((a, b) => a * b, 1), 0);
  const flatParams = new ctor(size), flatGrads = new ctor(size), view = new Map<string, NetworkParam<F>>();
  let offset = 0;
  const params = specs.map(([name, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const p = { name, shape, data: flatParams.subarray(offset, offset + n) as F, grad: flatGrads.subarray(offset, offset + n) as F };
    offset += n;
    view.set(name, p);
    return p;
  });
  return { size, flatParams, flatGrads, params, view };
}

/** The value head's tanh (in place) and the views of logits [B,A] and value [B] every kind's forward returns. */
export function headOutputs(logits: Buf, value: Buf, B: number, A: number): { logits: Buf; value: Buf } {
  for (let b = 0; b < B; b++) value[b] = Math.tanh(value[b]);
  return { logits: logits.subarray(0, B * A), value: value.subarray(0, B) };
}

/** Every kind's copyFrom: the weights (not optimizer state) of a network of the same size. */
export function copyWeights(to: PolicyValueNetwork<Buf>, from: PolicyValueNetwork<Buf>): void {
  if (from.size !== to.size) throw new RangeError(`copyFrom: a network of ${from.size} parameters into one of ${to.size}`);
  to.flatParams.set(from.flatParams);
}

/** The network of `shape.kind` (mlp when absent). `ctor` Float64Array gives a float64 network (gradient checks). */
export function createNetwork<F extends Buf = Float32Array>(shape: NetworkShape, backend: Backend, ctor?: { new(n: number): F }): PolicyValueNetwork<F> {
  if (shape.kind === "cnn") return new CnnNetwork<F>(shape, backend, ctor);
  if (shape.kind === "transformer") return new TransformerNetwork<F>(shape, backend, ctor);
  return new MlpNetwork<F>(shape, backend, ctor);
}

/** The config part of a shape (what a checkpoint's metadata records). */
export function networkConfigOf(shape: NetworkShape): NetworkConfig {
  const { inputSize: _i, actions: _a, rows: _r, cols: _c, ...config } = shape;
  return NetworkConfigSchema.parse(config);
}

/** A network config in words, for messages: "an MLP of hidden 256 × 3 blocks", "a transformer of hidden 32 × 3 layers, 4 heads, MLP 64". */
export function describeNetwork(c: NetworkConfig): string {
  switch (c.kind) {
    case "transformer": return `a transformer of hidden ${c.hidden} × ${c.blocks} layers, ${c.heads ?? 4} heads, MLP ${c.intermediate ?? 2 * c.hidden}`;
    case "cnn": return `a CNN of ${c.channels} channels × ${c.blocks} blocks, value head ${c.value_hidden}`;
    default: return `an MLP of hidden ${c.hidden} × ${c.blocks} blocks`;
  }
}

/**
 * The AlphaZero loss of a batch and its gradient at the heads' outputs:
 * L = (1/B) Σ_b [ −Σ_a π[b,a]·log softmax(logits[b])_a + valueWeight·(value[b] − z[b])² ], value = tanh(pre-activation).
 * pi [B,A] are visit-count targets (rows sum to 1), z [B] game results for the mover. Writes dlogits [B,A] and dvpre [B]
 * (the gradient at the value's pre-tanh activation); returns the two mean losses.
 */
export function policyValueLoss(logits: Buf, value: Buf, pi: Buf, z: Buf, valueWeight: number, dlogits: Buf, dvpre: Buf, B: number, A: number): { policyLoss: number; valueLoss: number } {
  let policyLoss = 0, valueLoss = 0;
  for (let b = 0; b < B; b++) {
    const o = b * A;
    let max = -Infinity;
    for (let a = 0; a < A; a++) max = Math.max(max, logits[o + a]);
    let sum = 0;
    for (let a = 0; a < A; a++) sum += Math.exp(logits[o + a] - max);
    const lse = max + Math.log(sum);
    let piSum = 0;
    for (let a = 0; a < A; a++) {
      const logp = logits[o + a] - lse;
      if (pi[o + a] > 0) policyLoss -= pi[o + a] * logp;
      piSum += pi[o + a];
    }
    // d/dlogits of −Σ π log softmax = softmax·Σπ − π
    for (let a = 0; a < A; a++) dlogits[o + a] = (Math.exp(logits[o + a] - lse) * piSum - pi[o + a]) / B;
    const v = value[b], d = v - z[b];
    valueLoss += d * d;
    dvpre[b] = valueWeight * 2 * d / B * (1 - v * v);
  }
  return { policyLoss: policyLoss / B, valueLoss: valueLoss / B };
}

interface ParamSpec { name: string; shape: number[]; offset: number; size: number }

function paramTable(s: MlpShape): ParamSpec[] {
  const { inputSize: I, hidden: H, actions: A } = s;
  const shapes: Array<[string, number[]]> = [["stem.weight", [H, I]], ["stem.bias", [H]]];
  for (let k = 0; k < s.blocks; k++)
    shapes.push([`blocks.${k}.fc1.weight`, [H, H]], [`blocks.${k}.fc1.bias`, [H]],
      [`blocks.${k}.fc2.weight`, [H, H]], [`blocks.${k}.fc2.bias`, [H]]);
  shapes.push(["policy.weight", [A, H]], ["policy.bias", [A]], ["value.weight", [1, H]], ["value.bias", [1]]);
  let offset = 0;
  return shapes.map(([name, shape]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const spec = { name, shape, offset, size };
    offset += size;
    return spec;
  });
}

/** Activations saved by the forward for one batch size. */
interface Acts {
  B: number;
  x: Buf;        // [B,I]
  h: Buf[];      // h[0] = stem output, h[k+1] = output of block k; each [B,H]
  a: Buf[];      // block hidden after relu, [B,H] per block
  logits: Buf;   // [B,A]
  value: Buf;    // [B]
  dh: Buf; da: Buf; dlogits: Buf; dvpre: Buf; // gradient scratch
}

/**
 * The residual MLP on Move37's engine (matmul, addBias, biasBackward, relu and its backward mask from the Backend; the
 * value's tanh here in TypeScript; trained by the shared AdamW of src/train/optimizer.ts).
 *
 *   h0 = relu(x·W0ᵀ + b0)                          x[B,I] → h[B,H]
 *   block k: a = relu(h·W1ᵀ + b1); h = relu(h + a·W2ᵀ + b2)
 *   logits = h·Wpᵀ + bp                            [B,A]
 *   value  = tanh(h·Wvᵀ + bv)                      [B]
 *
 * Dimensions: B batch, I input (2 planes × rows × cols), H hidden, A actions.
 */
export class MlpNetwork<F extends Buf = Float32Array> implements PolicyValueNetwork<F> {
  readonly specs: ParamSpec[];
  readonly size: number;
  /** Every parameter, in one buffer; `params` are named views into it. */
  readonly flatParams: F;
  readonly flatGrads: F;
  readonly params: NetworkParam<F>[];
  private acts: Acts | null = null;
  private readonly view: Record<string, Buf> = {};
  private readonly gview: Record<string, Buf> = {};

  /** `ctor` Float64Array gives a float64 network (gradient checks); training runs on float32 ones. */
  constructor(readonly shape: MlpShape, readonly backend: Backend, private readonly ctor: { new(n: number): F } = Float32Array as unknown as { new(n: number): F }) {
    if ((shape.kind ?? "mlp") !== "mlp") throw new RangeError(`MlpNetwork given a ${shape.kind} config: use createNetwork`);
    this.specs = paramTable(shape);
    this.size = this.specs.reduce((a, s) => a + s.size, 0);
    this.flatParams = new ctor(this.size);
    this.flatGrads = new ctor(this.size);
    this.params = this.specs.map(s => ({
      name: s.name, shape: s.shape,
      data: this.flatParams.subarray(s.offset, s.offset + s.size) as F, grad: this.flatGrads.subarray(s.offset, s.offset + s.size) as F,
    }));
    for (const p of this.params) { this.view[p.name] = p.data; this.gview[p.name] = p.grad; }
  }

  /** He-normal for ReLU layers; the residual branch output and the heads start small so the stack begins near identity. */
  init(rng: Rng): void {
    for (const s of this.specs) {
      const p = this.view[s.name];
      if (s.name.endsWith(".bias")) { p.fill(0); continue; }
      const fanIn = s.shape[1];
      const gain = s.name.includes("fc2") || s.name.startsWith("policy") || s.name.startsWith("value") ? 0.1 : 1;
      const std = gain * Math.sqrt(2 / fanIn);
      for (let i = 0; i < p.length; i++) p[i] = normal(rng) * std;
    }
  }

  private actsFor(B: number): Acts {
    if (this.acts && this.acts.B === B) return this.acts;
    const { inputSize: I, hidden: H, actions: A, blocks } = this.shape;
    const c = this.ctor;
    this.acts = {
      B, x: new c(B * I),
      h: Array.from({ length: blocks + 1 }, () => new c(B * H)),
      a: Array.from({ length: blocks }, () => new c(B * H)),
      logits: new c(B * A), value: new c(B),
      dh: new c(B * H), da: new c(B * H), dlogits: new c(B * A), dvpre: new c(B),
    };
    return this.acts;
  }

  /** Input buffer [B,I] to fill before `forward(B)`. */
  input(B: number): Buf { return this.actsFor(B).x; }

  /** Forward on the batch written into `input(B)`. Returns views of logits [B,A] and value [B]. */
  forward(B: number): { logits: Buf; value: Buf } {
    const k = this.backend, P = this.view, { inputSize: I, hidden: H, actions: A, blocks } = this.shape;
    const t = this.actsFor(B);
    k.matmul(t.h[0], t.x, P["stem.weight"], B, H, I, false, true, false);
    k.addBias(t.h[0], P["stem.bias"], B, H);
    k.relu(t.h[0], t.h[0], t.h[0].length);
    for (let b = 0; b < blocks; b++) {
      const hin = t.h[b], a = t.a[b], hout = t.h[b + 1];
      k.matmul(a, hin, P[`blocks.${b}.fc1.weight`], B, H, H, false, true, false);
      k.addBias(a, P[`blocks.${b}.fc1.bias`], B, H);
      k.relu(a, a, a.length);
      k.matmul(hout, a, P[`blocks.${b}.fc2.weight`], B, H, H, false, true, false);
      k.addBias(hout, P[`blocks.${b}.fc2.bias`], B, H);
      k.add(hout, hout, hin, B * H);
      k.relu(hout, hout, hout.length);
    }
    const h = t.h[blocks];
    k.matmul(t.logits, h, P["policy.weight"], B, A, H, false, true, false);
    k.addBias(t.logits, P["policy.bias"], B, A);
    k.matmul(t.value, h, P["value.weight"], B, 1, H, false, true, false);
    k.addBias(t.value, P["value.bias"], B, 1);
    return headOutputs(t.logits, t.value, B, A);
  }

  /**
   * Loss of the last forward and accumulation of its gradient into `flatGrads` (zero them before, as after each step):
   * L = (1/B) Σ_b [ −Σ_a π[b,a]·log softmax(logits[b])_a + valueWeight·(value[b] − z[b])² ].
   * pi [B,A] are visit-count targets (rows sum to 1), z [B] game results for the mover.
   */
  backward(pi: Buf, z: Buf, valueWeight: number): { policyLoss: number; valueLoss: number } {
    const k = this.backend, P = this.view, G = this.gview, { inputSize: I, hidden: H, actions: A, blocks } = this.shape;
    const t = this.acts!;
    const B = t.B;
    const losses = policyValueLoss(t.logits, t.value, pi, z, valueWeight, t.dlogits, t.dvpre, B, A);
    const h = t.h[blocks];
    k.matmul(G["policy.weight"], t.dlogits, h, A, H, B, true, false, true);
    k.biasBackward(G["policy.bias"], t.dlogits, B, A);
    k.matmul(G["value.weight"], t.dvpre, h, 1, H, B, true, false, true);
    k.biasBackward(G["value.bias"], t.dvpre, B, 1);
    const dh = t.dh, da = t.da;
    k.matmul(dh, t.dlogits, P["policy.weight"], B, H, A, false, false, false);
    k.matmul(dh, t.dvpre, P["value.weight"], B, H, 1, false, false, true);
    for (let b = blocks - 1; b >= 0; b--) {
      const hin = t.h[b], a = t.a[b], hout = t.h[b + 1];
      k.reluMask(dh, hout, dh.length); // dh is now d(hin + branch)
      k.matmul(G[`blocks.${b}.fc2.weight`], dh, a, H, H, B, true, false, true);
      k.biasBackward(G[`blocks.${b}.fc2.bias`], dh, B, H);
      k.matmul(da, dh, P[`blocks.${b}.fc2.weight`], B, H, H, false, false, false);
      k.reluMask(da, a, da.length);
      k.matmul(G[`blocks.${b}.fc1.weight`], da, hin, H, H, B, true, false, true);
      k.biasBackward(G[`blocks.${b}.fc1.bias`], da, B, H);
      k.matmul(dh, da, P[`blocks.${b}.fc1.weight`], B, H, H, false, false, true); // residual: dh carries on
    }
    k.reluMask(dh, t.h[0], dh.length);
    k.matmul(G["stem.weight"], dh, t.x, H, I, B, true, false, true);
    k.biasBackward(G["stem.bias"], dh, B, H);
    return losses;
  }

  /** Copy weights (not optimizer state) from another network of the same shape. */
  copyFrom(other: PolicyValueNetwork<Buf>): void { copyWeights(this, other); }
}

