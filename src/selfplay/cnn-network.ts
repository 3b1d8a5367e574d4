import type { Backend, Buf } from "../engine/backend.js";
import { linearBackward, linearForward } from "../model/linear.js";
import { BackwardBeforeForwardError } from "../model/transformer.js";
import { normal, type Rng } from "../rng.js";
import { copyWeights, flatParameters, headOutputs, policyValueLoss, type CnnShape, type NetworkParam, type PolicyValueNetwork } from "./network.js";

/**
 * AlphaZero's residual CNN, small, on the engine's kernels: each 3×3 convolution ('same' padding) is an im2col gather
 * (Backend.im2col3x3) and one matmul; its backward is the weight gradient's matmul on the same columns, and for the input
 * gradient the convolution of the output gradient with the kernel turned 180° (im2col of it and one more matmul).
 *
 *   h0 = relu(conv3×3(x) + b)                                     2 → C channels
 *   block k: a = relu(conv3×3(h) + b1); h = relu(h + conv3×3(a) + b2)
 *   policy: p = relu(conv1×1(h) + bp) [2 channels] → flatten → logits = p·Wᵀ + b      [A]
 *   value:  v = relu(conv1×1(h) + bv) [1 channel] → flatten → tanh(w2·relu(W1·v + b1) + b2)
 *
 * No batch norm: its statistics would come from MCTS leaf batches whose size and make-up change from call to call
 * (and running averages would make training and self-play compute different functions); a per-channel bias on each
 * convolution stands in for BN's shift, and the residual branch starts small (init) to keep the stack stable.
 *
 * Layout: activations are [B·rows·cols, C] (a position's cells row-major, channels last), so a convolution is
 * cols [R, 9·C_in] · Wᵀ with R = B·rows·cols rows and W [C_out, 3, 3, C_in] (channels last like the activations, which
 * makes the gather contiguous; PyTorch's [C_out, C_in, 3, 3] is a transpose of it); the 1×1 convolutions
 * are plain matmuls on the rows, and a head's flatten is a position's cells × channels (cell-major). The input is the
 * 2-plane encoding (GameState.encode: plane, row, col), gathered straight from its layout by the stem's im2col.
 * Shapes: B positions, HW = rows·cols cells, C channels, V value_hidden, A actions.
 */
export class CnnNetwork<F extends Buf = Float32Array> implements PolicyValueNetwork<F> {
  readonly size: number;
  readonly flatParams: F;
  readonly flatGrads: F;
  readonly params: NetworkParam<F>[];
  readonly rows: number;
  readonly cols: number;
  private readonly view: Map<string, NetworkParam<F>>;
  private cap = 0;
  private a!: Acts;
  private lastB = 0;

  constructor(readonly shape: CnnShape, readonly backend: Backend, private readonly ctor: { new(n: number): F } = Float32Array as unknown as { new(n: number): F }) {
    if (shape.kind !== "cnn") throw new RangeError(`CnnNetwork given a ${(shape as { kind?: string }).kind ?? "mlp"} config: use createNetwork`);
    if (shape.rows === undefined || shape.cols === undefined || shape.inputSize !== 2 * shape.rows * shape.cols)
      throw new RangeError(`cnn network: the shape needs the board's rows × cols with inputSize = 2 planes of them (got ${shape.rows} × ${shape.cols}, inputSize ${shape.inputSize}); build it with shapeFor(config, game)`);
    this.rows = shape.rows;
    this.cols = shape.cols;
    const C = shape.channels, HW = this.rows * this.cols, V = shape.value_hidden, A = shape.actions;
    const specs: Array<[string, number[]]> = [["stem.weight", [C, 3, 3, 2]], ["stem.bias", [C]]];
    for (let k = 0; k < shape.blocks; k++)
      specs.push([`blocks.${k}.conv1.weight`, [C, 3, 3, C]], [`blocks.${k}.conv1.bias`, [C]],
        [`blocks.${k}.conv2.weight`, [C, 3, 3, C]], [`blocks.${k}.conv2.bias`, [C]]);
    specs.push(["policy_conv.weight", [2, 1, 1, C]], ["policy_conv.bias", [2]], ["policy.weight", [A, 2 * HW]], ["policy.bias", [A]],
      ["value_conv.weight", [1, 1, 1, C]], ["value_conv.bias", [1]], ["value_fc1.weight", [V, HW]], ["value_fc1.bias", [V]],
      ["value_fc2.weight", [1, V]], ["value_fc2.bias", [1]]);
    const flat = flatParameters(specs, ctor);
    this.size = flat.size; this.flatParams = flat.flatParams; this.flatGrads = flat.flatGrads; this.params = flat.params; this.view = flat.view;
  }

  /**
   * He-normal (fan-in = C_in · kernel cells) for the ReLU layers; a block's second convolution and the heads' last
   * layers ×0.1, so each block starts near the identity and the first policies near uniform, values near 0.
   */
  init(rng: Rng): void {
    for (const p of this.params) {
      if (p.name.endsWith(".bias")) { p.data.fill(0); continue; }
      const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
      const gain = /conv2|^policy\.|value_fc2/.test(p.name) ? 0.1 : 1;
      const std = gain * Math.sqrt(2 / fanIn);
      for (let i = 0; i < p.data.length; i++) p.data[i] = normal(rng) * std;
    }
  }

  private ensure(B: number): Acts {
    if (B <= this.cap) return this.a;
    const c = this.ctor, R = B * this.rows * this.cols, C = this.shape.channels, L = this.shape.blocks;
    const V = this.shape.value_hidden, A = this.shape.actions, K = 9 * Math.max(2, C);
    const per = (n: number) => Array.from({ length: L }, () => new c(n));
    const old = this.a;
    this.a = {
      x: new c(B * this.shape.inputSize), h: Array.from({ length: L + 1 }, () => new c(R * C)), mid: per(R * C),
      pol: new c(R * 2), logits: new c(B * A), val: new c(R), vh: new c(B * V), value: new c(B),
      cols: new c(R * K), wflip: new c(9 * C * C), dh: new c(R * C), dmid: new c(R * C),
      dpol: new c(R * 2), dlogits: new c(B * A), dval: new c(R), dvh: new c(B * V), dvpre: new c(B),
    };
    if (old) this.a.x.set(old.x); // input(B) may have been filled at a smaller capacity
    this.cap = B;
    return this.a;
  }

  input(B: number): Buf { return this.ensure(B).x; }

  /** The trunk's output after `k` residual blocks (0: the stem) of the last forward: [B·rows·cols, C], channels last. */
  features(k: number): Buf { return this.a.h[k].subarray(0, this.lastB * this.rows * this.cols * this.shape.channels); }

  /** The 2-plane input as im2col sees it: (position, cell, channel) at b·I + channel·HW + cell. */
  private inputLayout(): Layout { const HW = this.rows * this.cols; return { batch: 2 * HW, cell: 1, channel: HW, C: 2 }; }
  private hiddenLayout(): Layout { const C = this.shape.channels, HW = this.rows * this.cols; return { batch: HW * C, cell: C, channel: 1, C }; }

  /** y [R,O] = x·Wᵀ + b with the weight and bias `name` (a 1×1 convolution, a linear layer, or a 3×3 one on im2col columns). */
  private linear(name: string, y: Buf, x: Buf, R: number, O: number, I: number): void {
    linearForward(this.backend, y, x, this.view.get(name + ".weight")!.data, this.view.get(name + ".bias")!.data, R, O, I);
  }

  /** dx (= or +=) dy·W, and the gradients of `name`'s weight and bias. */
  private linearBack(name: string, dx: Buf, dy: Buf, x: Buf, R: number, O: number, I: number, accumulateDx = false): void {
    const w = this.view.get(name + ".weight")!, b = this.view.get(name + ".bias")!;
    linearBackward(this.backend, dx, w.grad, b.grad, dy, x, w.data, R, O, I, accumulateDx);
  }

  /** The columns of `src` for a 3×3 convolution (the backend's im2col3x3) into the shared buffer: [B·rows·cols, 9·C_src]. */
  private im2col(src: Buf, lay: Layout, B: number): void {
    this.backend.im2col3x3(this.a.cols, src, B, this.rows, this.cols, lay.C, lay.batch, lay.cell, lay.channel);
  }

  /** out [R,C] = conv3×3(src) + bias. */
  private conv(out: Buf, src: Buf, lay: Layout, name: string, B: number): void {
    this.im2col(src, lay, B);
    this.linear(name, out, this.a.cols, B * this.rows * this.cols, this.shape.channels, 9 * lay.C);
  }

  /**
   * The gradients of conv3×3(src)'s weight and bias given dout [R,C], and dL/dsrc added into `dsrc` (unless null; a
   * hidden activation). dL/dsrc is itself a 3×3 'same' convolution: of dout, with the kernel turned 180° and its
   * channels swapped, wflip[ci, tap, co] = W[co, 8 − tap, ci] (the neighbour at offset −d reads what offset d wrote), so
   * it is im2col and a matmul like the forward, with no col2im scatter-add.
   */
  private convBackward(dsrc: Buf | null, dout: Buf, src: Buf, lay: Layout, name: string, B: number): void {
    const a = this.a, be = this.backend, HW = this.rows * this.cols, R = B * HW, C = this.shape.channels, K = 9 * lay.C;
    const w = this.view.get(name + ".weight")!, b = this.view.get(name + ".bias")!;
    this.im2col(src, lay, B); // recomputed: one buffer instead of one per layer
    be.matmul(w.grad, dout, a.cols, C, K, R, true, false, true);
    be.biasBackward(b.grad, dout, R, C);
    if (!dsrc) return;
    for (let co = 0; co < C; co++)
      for (let tap = 0; tap < 9; tap++)
        for (let ci = 0; ci < C; ci++) a.wflip[(ci * 9 + tap) * C + co] = w.data[(co * 9 + 8 - tap) * C + ci];
    this.im2col(dout, this.hiddenLayout(), B);
    be.matmul(dsrc, a.cols, a.wflip, R, C, 9 * C, false, true, true);
  }

  forward(B: number): { logits: Buf; value: Buf } {
    const a = this.ensure(B), be = this.backend, HW = this.rows * this.cols, R = B * HW, C = this.shape.channels, L = this.shape.blocks;
    const V = this.shape.value_hidden, A = this.shape.actions;
    const hid = this.hiddenLayout(), n = R * C;
    this.lastB = B;
    this.conv(a.h[0], a.x, this.inputLayout(), "stem", B);
    be.relu(a.h[0], a.h[0], n);
    for (let k = 0; k < L; k++) {
      const mid = a.mid[k], out = a.h[k + 1];
      this.conv(mid, a.h[k], hid, `blocks.${k}.conv1`, B);
      be.relu(mid, mid, n);
      this.conv(out, mid, hid, `blocks.${k}.conv2`, B);
      be.add(out, out, a.h[k], n);
      be.relu(out, out, n);
    }
    const h = a.h[L];
    this.linear("policy_conv", a.pol, h, R, 2, C);
    be.relu(a.pol, a.pol, 2 * R);
    this.linear("policy", a.logits, a.pol, B, A, 2 * HW);
    this.linear("value_conv", a.val, h, R, 1, C);
    be.relu(a.val, a.val, R);
    this.linear("value_fc1", a.vh, a.val, B, V, HW);
    be.relu(a.vh, a.vh, B * V);
    this.linear("value_fc2", a.value, a.vh, B, 1, V);
    return headOutputs(a.logits, a.value, B, A);
  }

  backward(pi: Buf, z: Buf, valueWeight: number): { policyLoss: number; valueLoss: number } {
    const B = this.lastB;
    if (B === 0) throw new BackwardBeforeForwardError();
    const a = this.a, be = this.backend, HW = this.rows * this.cols, R = B * HW, C = this.shape.channels, L = this.shape.blocks;
    const V = this.shape.value_hidden, A = this.shape.actions, n = R * C;
    const losses = policyValueLoss(a.logits, a.value, pi, z, valueWeight, a.dlogits, a.dvpre, B, A);
    const h = a.h[L], dh = a.dh.subarray(0, n);
    this.linearBack("policy", a.dpol, a.dlogits, a.pol, B, A, 2 * HW);
    be.reluMask(a.dpol, a.pol, 2 * R);
    this.linearBack("policy_conv", dh, a.dpol, h, R, 2, C);
    this.linearBack("value_fc2", a.dvh, a.dvpre, a.vh, B, 1, V);
    be.reluMask(a.dvh, a.vh, B * V);
    this.linearBack("value_fc1", a.dval, a.dvh, a.val, B, V, HW);
    be.reluMask(a.dval, a.val, R);
    this.linearBack("value_conv", dh, a.dval, h, R, 1, C, true);
    // trunk: dh is dL/dh[k+1]; the skip carries it to dL/dh[k], conv1's backward adds the branch's share
    const hid = this.hiddenLayout();
    for (let k = L - 1; k >= 0; k--) {
      const mid = a.mid[k], dmid = a.dmid.subarray(0, n);
      be.reluMask(dh, a.h[k + 1], n);
      dmid.fill(0);
      this.convBackward(dmid, dh, mid, hid, `blocks.${k}.conv2`, B);
      be.reluMask(dmid, mid, n);
      this.convBackward(dh, dmid, a.h[k], hid, `blocks.${k}.conv1`, B);
    }
    be.reluMask(dh, a.h[0], n);
    this.convBackward(null, dh, a.x, this.inputLayout(), "stem", B);
    return losses;
  }

  copyFrom(other: PolicyValueNetwork<Buf>): void { copyWeights(this, other); }
}

/** Where (position b, cell, channel ch) of an activation is: b·batch + cell·cell + ch·channel; C channels. */
interface Layout { batch: number; cell: number; channel: number; C: number }

/** Saved activations and scratch for up to `cap` positions (grown, never shrunk: self-play batches shrink as games end). */
interface Acts {
  x: Buf; h: Buf[]; mid: Buf[]; pol: Buf; logits: Buf; val: Buf; vh: Buf; value: Buf;
  cols: Buf; wflip: Buf; dh: Buf; dmid: Buf; dpol: Buf; dlogits: Buf; dval: Buf; dvh: Buf; dvpre: Buf;
}
