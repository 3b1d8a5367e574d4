import type { Backend, Buf } from "../engine/backend.js";
import { qkvForward, type AttentionDims, type AttentionWeights } from "../model/attention.js";
import { linearBackward, linearForward } from "../model/linear.js";
import { BackwardBeforeForwardError } from "../model/transformer.js";
import { mlpBackward, mlpForward, type MlpDims, type MlpScratch, type MlpWeights } from "../model/mlp.js";
import { normal, type Rng } from "../rng.js";
import { copyWeights, flatParameters, headOutputs, policyValueLoss, type NetworkParam, type PolicyValueNetwork, type TransformerShape } from "./network.js";

/**
 * A policy/value network that sees the board as a board: the project's transformer blocks (src/model: RMSNorm,
 * attention, SwiGLU MLP, the same kernels the language models train with) over the cells as tokens.
 *
 *   tokens: [CLS, cell 0, …, cell C−1], T = C + 1 (C = rows·cols: 42 for Connect Four)
 *     cell i's id = i + C·state (state 0 empty, 1 the mover's stone, 2 the opponent's): one embedding row per cell and
 *     content, i.e. a learned position embedding and a content embedding in one table (3C rows)
 *     CLS's id = 3C + (stones on the board mod 2): it also says whether the first or the second player is to move
 *   L × (x += o_proj(attention(RMSNorm x)); x += down(silu(gate(RMSNorm x)) · up(RMSNorm x)))
 *     attention is bidirectional (every cell sees every cell: the attention kernel with causal = false), no RoPE (the
 *     positions are learned), no biases
 *     (the last layer computes its query, o_proj and MLP on the CLS rows alone: nothing else reaches the heads)
 *   c = RMSNorm(x[CLS])
 *   logits = c·Wpᵀ + bp [B,A]     value = tanh(c·Wvᵀ + bv) [B]
 *
 * Input: the same 2-plane encoding as the MLP (GameState.encode; planes of 0/1), so replay, mirror augmentation and
 * the evaluator are unchanged. Shapes: B positions, T tokens, R = B·T rows, H hidden, nh heads, hd = H/nh, I the MLP
 * width, A actions. Parameters are named as Hugging Face names a Llama's (embed_tokens, layers.l.self_attn.q_proj, …),
 * so AdamW's one rule (no decay on norms, biases, embeddings) applies as for the language models.
 */
export class TransformerNetwork<F extends Buf = Float32Array> implements PolicyValueNetwork<F> {
  readonly size: number;
  readonly flatParams: F;
  readonly flatGrads: F;
  readonly params: NetworkParam<F>[];
  /** Cells per board (C), tokens per position (T = C + 1), vocabulary (3C + 2). */
  readonly cells: number;
  readonly T: number;
  readonly vocab: number;
  readonly heads: number;
  readonly intermediate: number;
  private readonly view: Map<string, NetworkParam<F>>;
  private readonly attnW: AttentionWeights[];
  private readonly attnG: AttentionWeights[];
  private readonly mlpW: MlpWeights[];
  private readonly mlpG: MlpWeights[];
  private readonly attnDims: AttentionDims;
  private readonly mlpDims: MlpDims;
  private cap = 0;
  private a!: Acts;
  private lastB = 0;

  constructor(readonly shape: TransformerShape, readonly backend: Backend, private readonly ctor: { new(n: number): F } = Float32Array as unknown as { new(n: number): F }) {
    if (shape.kind !== "transformer") throw new RangeError(`TransformerNetwork given a ${shape.kind ?? "mlp"} config: use createNetwork`);
    const H = shape.hidden, L = shape.blocks, A = shape.actions;
    this.cells = shape.inputSize / 2;
    this.T = this.cells + 1;
    this.vocab = 3 * this.cells + 2;
    this.heads = shape.heads ?? 4;
    this.intermediate = shape.intermediate ?? 2 * H;
    if (!Number.isInteger(this.cells) || H % this.heads !== 0) throw new RangeError(`transformer network: inputSize ${shape.inputSize} must be 2 planes and hidden ${H} a multiple of heads ${this.heads}`);
    const I = this.intermediate;
    const specs: Array<[string, number[]]> = [["embed_tokens.weight", [this.vocab, H]]];
    for (let l = 0; l < L; l++) {
      const p = `layers.${l}.`;
      specs.push([p + "input_layernorm.weight", [H]], [p + "self_attn.q_proj.weight", [H, H]], [p + "self_attn.k_proj.weight", [H, H]],
        [p + "self_attn.v_proj.weight", [H, H]], [p + "self_attn.o_proj.weight", [H, H]], [p + "post_attention_layernorm.weight", [H]],
        [p + "mlp.gate_proj.weight", [I, H]], [p + "mlp.up_proj.weight", [I, H]], [p + "mlp.down_proj.weight", [H, I]]);
    }
    specs.push(["norm.weight", [H]], ["policy.weight", [A, H]], ["policy.bias", [A]], ["value.weight", [1, H]], ["value.bias", [1]]);
    const flat = flatParameters(specs, ctor);
    this.size = flat.size; this.flatParams = flat.flatParams; this.flatGrads = flat.flatGrads; this.params = flat.params; this.view = flat.view;
    const attn = (l: number, g: boolean): AttentionWeights => {
      const f = (n: string) => { const p = this.view.get(`layers.${l}.${n}`)!; return g ? p.grad : p.data; };
      return { ln: f("input_layernorm.weight"), wq: f("self_attn.q_proj.weight"), bq: null, wk: f("self_attn.k_proj.weight"), bk: null,
        wv: f("self_attn.v_proj.weight"), bv: null, wo: f("self_attn.o_proj.weight"), qn: null, kn: null, post: null };
    };
    const mlp = (l: number, g: boolean): MlpWeights => {
      const f = (n: string) => { const p = this.view.get(`layers.${l}.${n}`)!; return g ? p.grad : p.data; };
      return { ln: f("post_attention_layernorm.weight"), wg: f("mlp.gate_proj.weight"), wu: f("mlp.up_proj.weight"), wd: f("mlp.down_proj.weight"), post: null };
    };
    this.attnW = Array.from({ length: L }, (_, l) => attn(l, false));
    this.attnG = Array.from({ length: L }, (_, l) => attn(l, true));
    this.mlpW = Array.from({ length: L }, (_, l) => mlp(l, false));
    this.mlpG = Array.from({ length: L }, (_, l) => mlp(l, true));
    const hd = H / this.heads;
    this.attnDims = { H, nh: this.heads, nkv: this.heads, hd, eps: EPS, scale: 1 / Math.sqrt(hd), softcap: 0 };
    this.mlpDims = { H, I, eps: EPS, gelu: false };
  }

  /**
   * Embedding rows N(0, 1) (each block's RMSNorm sees unit scale); q, k, v, gate, up N(0, 1/fan-in); o_proj and
   * down_proj N(0, 1/(2L·fan-in)) so the residual stream starts close to the embeddings (GPT-2's depth scaling); norms 1;
   * heads small (0.1/√H) so the first policies are near uniform and the values near 0.
   */
  init(rng: Rng): void {
    const L = Math.max(1, this.shape.blocks);
    for (const p of this.params) {
      const n = p.name;
      if (n.endsWith("norm.weight")) { p.data.fill(1); continue; }
      if (n.endsWith(".bias")) { p.data.fill(0); continue; }
      const fanIn = p.shape[1];
      const std = n.startsWith("embed_tokens") ? 1
        : n.startsWith("policy") || n.startsWith("value") ? 0.1 / Math.sqrt(fanIn)
        : /o_proj|down_proj/.test(n) ? 1 / Math.sqrt(2 * L * fanIn) : 1 / Math.sqrt(fanIn);
      for (let i = 0; i < p.data.length; i++) p.data[i] = normal(rng) * std;
    }
  }

  private ensure(B: number): Acts {
    if (B <= this.cap) return this.a;
    const c = this.ctor, T = this.T, R = B * T, H = this.shape.hidden, I = this.intermediate, L = this.shape.blocks, A = this.shape.actions;
    const per = (n: number) => Array.from({ length: L }, () => new c(n));
    const old = this.a;
    this.a = {
      x: new c(B * this.shape.inputSize), ids: new Int32Array(R),
      res: Array.from({ length: L + 1 }, () => new c(R * H)), rstd1: per(R), rstd2: per(R), q: per(R * H), k: per(R * H), v: per(R * H),
      att: per(R * H), lse: per(B * this.heads * T), mid: per(R * H), gate: per(R * I), up: per(R * I),
      cls: new c(B * H), xf: new c(B * H), rstdF: new c(B), logits: new c(B * A), value: new c(B),
      dres: new c(R * H), datt: new c(R * H), dq: new c(R * H), dk: new c(R * H), dv: new c(R * H), dcls: new c(B * H), dxf: new c(B * H),
      dlogits: new c(B * A), dvpre: new c(B),
      qc: new c(B * H), attc: new c(B * H), lsec: new c(B * this.heads), midc: new c(B * H), gatec: new c(B * I), upc: new c(B * I), rstd2c: new c(B),
      dattc: new c(B * H), dqc: new c(B * H),
      s: { ln: new c(R * H), rstd: new c(R), dln: new c(R * H), h: new c(R * I), dh: new c(R * I), dgate: new c(R * I), dup: new c(R * I), dO: new c(0) },
    };
    if (old) this.a.x.set(old.x); // input(B) may have been filled at a smaller capacity
    this.cap = B;
    return this.a;
  }

  input(B: number): Buf { return this.ensure(B).x; }

  /** Token ids of the B positions in `x` (0/1 planes). */
  private tokenize(B: number): void {
    const a = this.a, C = this.cells, T = this.T, Iin = this.shape.inputSize;
    for (let b = 0; b < B; b++) {
      let stones = 0;
      for (let i = 0; i < C; i++) {
        const mine = a.x[b * Iin + i] > 0.5, theirs = a.x[b * Iin + C + i] > 0.5;
        a.ids[b * T + 1 + i] = i + C * (mine ? 1 : theirs ? 2 : 0);
        if (mine || theirs) stones++;
      }
      a.ids[b * T] = 3 * C + (stones & 1);
    }
  }

  forward(B: number): { logits: Buf; value: Buf } {
    const a = this.ensure(B), be = this.backend, T = this.T, R = B * T, H = this.shape.hidden, A = this.shape.actions, L = this.shape.blocks;
    const { nh, hd } = this.attnDims;
    this.tokenize(B);
    be.embedding(a.res[0], this.view.get("embed_tokens.weight")!.data, a.ids, R, H);
    for (let l = 0; l < L; l++) {
      const w = this.attnW[l];
      qkvForward(be, w, this.attnDims, null, a.s.ln, a.rstd1[l], a.q[l], a.k[l], a.v[l], a.res[l], NO_POS, R, null);
      if (l === L - 1) { // only CLS reaches the heads: the last layer's query, o_proj and MLP on the CLS rows alone
        for (let b = 0; b < B; b++) {
          a.qc.set(a.q[l].subarray(b * T * H, (b * T + 1) * H), b * H);
          a.midc.set(a.res[l].subarray(b * T * H, (b * T + 1) * H), b * H);
        }
        // one query per row at key index T − 1 of T keys: the causal kernel lets it see them all
        be.attention(a.attc, a.lsec, a.qc, a.k[l], a.v[l], null, B, 1, T, T, nh, nh, hd, null, 0, this.attnDims.scale, 0);
        linearForward(be, a.midc, a.attc, w.wo, null, B, H, H, true);
        mlpForward(be, this.mlpW[l], this.mlpDims, a.cls, a.s.ln, a.rstd2c, a.gatec, a.upc, a.s.h, a.midc, B, null);
        continue;
      }
      be.attention(a.att[l], a.lse[l], a.q[l], a.k[l], a.v[l], null, B, T, T, T, nh, nh, hd, null, 0, this.attnDims.scale, 0, false);
      a.mid[l].set(a.res[l].subarray(0, R * H));
      linearForward(be, a.mid[l], a.att[l], w.wo, null, R, H, H, true);
      mlpForward(be, this.mlpW[l], this.mlpDims, a.res[l + 1], a.s.ln, a.rstd2[l], a.gate[l], a.up[l], a.s.h, a.mid[l], R, null);
    }
    if (L === 0) for (let b = 0; b < B; b++) a.cls.set(a.res[0].subarray(b * T * H, (b * T + 1) * H), b * H);
    be.rmsnorm(a.xf, a.rstdF, a.cls, this.view.get("norm.weight")!.data, B, H, EPS);
    const P = (n: string) => this.view.get(n)!.data;
    be.matmul(a.logits, a.xf, P("policy.weight"), B, A, H, false, true, false);
    be.addBias(a.logits, P("policy.bias"), B, A);
    be.matmul(a.value, a.xf, P("value.weight"), B, 1, H, false, true, false);
    be.addBias(a.value, P("value.bias"), B, 1);
    this.lastB = B;
    return headOutputs(a.logits, a.value, B, A);
  }

  backward(pi: Buf, z: Buf, valueWeight: number): { policyLoss: number; valueLoss: number } {
    const B = this.lastB;
    if (B === 0) throw new BackwardBeforeForwardError();
    const a = this.a, be = this.backend, T = this.T, R = B * T, H = this.shape.hidden, A = this.shape.actions, L = this.shape.blocks;
    const { nh, hd } = this.attnDims;
    const P = (n: string) => this.view.get(n)!.data, G = (n: string) => this.view.get(n)!.grad;
    const losses = policyValueLoss(a.logits, a.value, pi, z, valueWeight, a.dlogits, a.dvpre, B, A);
    be.matmul(G("policy.weight"), a.dlogits, a.xf, A, H, B, true, false, true);
    be.biasBackward(G("policy.bias"), a.dlogits, B, A);
    be.matmul(G("value.weight"), a.dvpre, a.xf, 1, H, B, true, false, true);
    be.biasBackward(G("value.bias"), a.dvpre, B, 1);
    be.matmul(a.dxf, a.dlogits, P("policy.weight"), B, H, A, false, false, false);
    be.matmul(a.dxf, a.dvpre, P("value.weight"), B, H, 1, false, false, true);
    a.dcls.subarray(0, B * H).fill(0);
    be.rmsnormBackward(a.dcls, G("norm.weight"), a.dxf, a.cls, P("norm.weight"), a.rstdF, B, H);
    const dres = a.dres.subarray(0, R * H);
    dres.fill(0);
    if (L === 0) for (let b = 0; b < B; b++) dres.set(a.dcls.subarray(b * H, (b + 1) * H), b * T * H);
    for (let l = L - 1; l >= 0; l--) {
      const w = this.attnW[l], g = this.attnG[l];
      a.dq.subarray(0, R * H).fill(0); a.dk.subarray(0, R * H).fill(0); a.dv.subarray(0, R * H).fill(0);
      if (l === L - 1) { // the CLS rows alone (see forward)
        mlpBackward(be, this.mlpW[l], this.mlpG[l], this.mlpDims, a.s, a.dcls, a.midc, a.rstd2c, a.gatec, a.upc, B, null); // dcls: dL/dmidc
        linearBackward(be, a.dattc, g.wo, null, a.dcls, a.attc, w.wo, B, H, H, false);
        a.dqc.subarray(0, B * H).fill(0);
        be.attentionBackward(a.dqc, a.dk, a.dv, a.dattc, a.attc, a.lsec, a.qc, a.k[l], a.v[l], null, B, 1, T, T, nh, nh, hd, null, 0, this.attnDims.scale, 0);
        for (let b = 0; b < B; b++) {
          a.dq.set(a.dqc.subarray(b * H, (b + 1) * H), b * T * H);
          dres.set(a.dcls.subarray(b * H, (b + 1) * H), b * T * H); // the residual: midc = res[l] at CLS + attention
        }
      } else {
        mlpBackward(be, this.mlpW[l], this.mlpG[l], this.mlpDims, a.s, dres, a.mid[l], a.rstd2[l], a.gate[l], a.up[l], R, null); // dres: dL/dmid
        linearBackward(be, a.datt, g.wo, null, dres, a.att[l], w.wo, R, H, H, false);
        be.attentionBackward(a.dq, a.dk, a.dv, a.datt, a.att[l], a.lse[l], a.q[l], a.k[l], a.v[l], null, B, T, T, T, nh, nh, hd, null, 0, this.attnDims.scale, 0, false);
      }
      be.rmsnorm(a.s.ln, a.s.rstd, a.res[l], w.ln, R, H, EPS); // the block's normed input, recomputed
      linearBackward(be, a.s.dln, g.wq, null, a.dq, a.s.ln, w.wq, R, H, H, false);
      linearBackward(be, a.s.dln, g.wk, null, a.dk, a.s.ln, w.wk, R, H, H, true);
      linearBackward(be, a.s.dln, g.wv, null, a.dv, a.s.ln, w.wv, R, H, H, true);
      be.rmsnormBackward(dres, g.ln, a.s.dln, a.res[l], w.ln, a.rstd1[l], R, H); // + the residual's dres: dL/dres[l]
    }
    be.embeddingBackward(G("embed_tokens.weight"), dres, a.ids, R, H);
    return losses;
  }

  copyFrom(other: PolicyValueNetwork<Buf>): void { copyWeights(this, other); }
}

const EPS = 1e-5;
const NO_POS = new Int32Array(0);

/** Saved activations and scratch for up to `cap` positions (grown, never shrunk: self-play batches shrink as games end). */
interface Acts {
  x: Buf; ids: Int32Array;
  res: Buf[]; rstd1: Buf[]; rstd2: Buf[]; q: Buf[]; k: Buf[]; v: Buf[]; att: Buf[]; lse: Buf[]; mid: Buf[]; gate: Buf[]; up: Buf[];
  cls: Buf; xf: Buf; rstdF: Buf; logits: Buf; value: Buf;
  dres: Buf; datt: Buf; dq: Buf; dk: Buf; dv: Buf; dcls: Buf; dxf: Buf; dlogits: Buf; dvpre: Buf;
  /** The last layer's CLS-only activations: query, attention output and its lse, mid, MLP gate/up, norm rstd; gradients. */
  qc: Buf; attc: Buf; lsec: Buf; midc: Buf; gatec: Buf; upc: Buf; rstd2c: Buf; dattc: Buf; dqc: Buf;
  s: MlpScratch;
}
