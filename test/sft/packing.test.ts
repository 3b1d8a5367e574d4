/**
 * Packing and gradient accumulation, checked against the unpacked computation they must equal: a packed batch's
 * log-probs, loss and gradients are those of its examples run one by one (segment-masked attention, positions
 * restarting per example), and N accumulated micro-batches give the gradient and AdamW update of one N× batch.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { getBackend, referenceBackend, type Backend } from "../../src/engine/index.js";
import { loadAddon } from "../../src/engine/native.js";
import { Transformer, createModel } from "../../src/model/transformer.js";
import type { CausalLM } from "../../src/model/types.js";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { makeBatch, makePackedBatch, packExamples, tokenizeRow, type SFTExample } from "../../src/train/sft-data.js";
import { accumulateSftLoss, sftLoss } from "../../src/train/sft.js";
import { AdamW } from "../../src/train/optimizer.js";
import { tinyModel, tinyQwen2, tokenizer as qwenTok } from "../sample/tiny-model.js";
import { traceRows } from "./fixtures.js";

const byteTok = new ByteTokenizer();
const nativeSegments = loadAddon()?.segmentAttention === true;

/** The tiny Qwen2 (GQA, qkv bias) in float32 on the native backend and in float64 on the reference, same weights. */
function models(): { name: string; model: CausalLM; tol: number }[] {
  const out: { name: string; model: CausalLM; tol: number }[] = [];
  const f32 = tinyModel(referenceBackend);
  const f64 = new Transformer(tinyQwen2, referenceBackend, 1, Float64Array);
  f64.flatParams.set(f32.flatParams);
  out.push({ name: "reference float64", model: f64 as unknown as CausalLM, tol: 1e-10 });
  if (nativeSegments) out.push({ name: "native float32", model: tinyModel(getBackend("native")), tol: 2e-4 });
  return out;
}

const qwenExamples = (): SFTExample[] => ["The cat sat on the mat.", "Two plus two is four. The dog sat on the log.", "The dog", "<think> add </think> <answer> 4 </answer>", "sat"]
  .flatMap((t, i) => tokenizeRow(qwenTok, { prompt: i % 2 ? "The" : "Two plus", completion: t }, 128));

/** Grads after zeroing and running fn. */
function gradsOf(model: CausalLM, fn: () => number): { loss: number; grads: Float64Array } {
  model.flatGrads.fill(0);
  const loss = fn();
  return { loss, grads: Float64Array.from(model.flatGrads) };
}

function assertNear(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, label: string): void {
  assert.equal(a.length, b.length, label);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + scale), `${label}[${i}]: ${a[i]} vs ${b[i]}`);
}

test("best-fit-decreasing packing: every example once and whole, no row over capacity, rows filled tightly", () => {
  const lengths = Array.from({ length: 300 }, (_, i) => 3 + ((i * 7919) % 60));
  const examples = lengths.map(n => ({ ids: Array(n).fill(1), loss: new Uint8Array(n) }));
  const rows = packExamples(examples, 64);
  assert.deepEqual(rows.flat().sort((a, b) => a - b), lengths.map((_, i) => i));
  const fill = rows.map(r => r.reduce((s, i) => s + lengths[i] - 1, 0));
  assert.ok(fill.every(f => f <= 64), "capacity is respected");
  const needed = Math.ceil(fill.reduce((a, b) => a + b, 0) / 64);
  assert.ok(rows.length <= needed + 2, `${rows.length} rows for a lower bound of ${needed}`);
  assert.deepEqual(packExamples(examples, 64), rows, "packing is deterministic");
  const long = packExamples([{ ids: Array(100).fill(1), loss: new Uint8Array(100) }, examples[0]], 64);
  assert.deepEqual(long, [[0], [1]], "an example longer than a row gets a row of its own");
});

test("a packed row: examples back to back with their own segment ids, targets never cross an example boundary", () => {
  const [a, b] = traceRows(2).flatMap(r => tokenizeRow(byteTok, r, 128));
  const p = makePackedBatch([[a, b]], 0);
  const na = a.ids.length - 1, nb = b.ids.length - 1;
  assert.equal(p.T, na + nb);
  assert.deepEqual([...p.segments!], [...Array(na).fill(0), ...Array(nb).fill(1)]);
  assert.deepEqual([...p.tokens], [...a.ids.slice(0, -1), ...b.ids.slice(0, -1)]);
  const alone = [makeBatch([a], 0), makeBatch([b], 0)];
  assert.deepEqual([...p.targets], [...alone[0].targets, ...alone[1].targets]);
  assert.deepEqual([...p.lossMask], [...alone[0].lossMask, ...alone[1].lossMask]);
  assert.equal(p.numTokens, alone[0].numTokens + alone[1].numTokens);
  const padded = makePackedBatch([[a, b], [b]], 0);
  assert.deepEqual([...padded.segments!.subarray(padded.T + nb)], Array(na).fill(-1), "padding belongs to no example");
});

test("packed = unpacked: log-probs, summed loss and gradients of a packed batch equal the examples run one by one", () => {
  const ex = qwenExamples();
  const packed = makePackedBatch([[ex[0], ex[2], ex[4]], [ex[1], ex[3]]], qwenTok.padId!);
  assert.ok(packed.T < 128 && packed.segments!.includes(2));
  for (const { name, model, tol } of models()) {
    const logp = Float64Array.from(model.forward(packed.tokens, packed.mask, packed.targets, packed.B, packed.T, 1, packed.segments).logp);
    const together = gradsOf(model, () => sftLoss(model, packed, true, 1)); // per = 1: the summed NLL
    let loss = 0;
    const sum = new Float64Array(model.flatGrads.length);
    let at = [0, packed.T]; // next position in each packed row
    for (const [row, members] of [[0, [0, 2, 4]], [1, [1, 3]]] as const) for (const i of members) {
      const one = makeBatch([ex[i]], qwenTok.padId!);
      const alone = model.forward(one.tokens, one.mask, one.targets, 1, one.T).logp;
      assertNear(logp.subarray(at[row], at[row] + one.T), alone, tol, `${name}: logp of example ${i}`);
      at[row] += one.T;
      const r = gradsOf(model, () => sftLoss(model, one, true, 1));
      loss += r.loss;
      for (let j = 0; j < sum.length; j++) sum[j] += r.grads[j];
    }
    assertNear([together.loss], [loss], tol, `${name}: loss`);
    assertNear(together.grads, sum, tol, `${name}: grads`);
    // Without segments the same row is ordinary causal attention across examples: the property must fail then.
    const leaky = gradsOf(model, () => sftLoss(model, { ...packed, segments: undefined }, true, 1));
    assert.ok(Math.abs(leaky.loss - loss) > 1e-3, `${name}: unsegmented packing must differ (${leaky.loss} vs ${loss})`);
  }
});

test("packed = unpacked on the micro Llama (no bias, MQA) through the backend the trainer uses", { skip: nativeSegments ? false : "native addon predates segment attention" }, () => {
  const model = createModel({ architecture: "llama", vocab_size: 258, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1,
    intermediate_size: 64, rope_theta: 10000, rms_norm_eps: 1e-5, attention_bias: false, tie_word_embeddings: true, max_position_embeddings: 256, bos_token_id: 256, eos_token_id: 256 }, getBackend("auto"), 3);
  const ex = traceRows(12).flatMap(r => tokenizeRow(byteTok, r, 256));
  const rows = packExamples(ex, 250).map(r => r.map(i => ex[i]));
  assert.ok(rows.length < ex.length && rows.some(r => r.length > 2), "several examples share a row");
  const packed = gradsOf(model, () => sftLoss(model, makePackedBatch(rows, 0), true));
  const alone = gradsOf(model, () => sftLoss(model, makeBatch(ex, 0), true)); // right-padded, one example per row
  assertNear([packed.loss], [alone.loss], 1e-5, "mean loss");
  assertNear(packed.grads, alone.grads, 1e-4, "grads");
});

test("gradient accumulation: micro-batches give the loss, gradient and AdamW update of one batch holding them all", () => {
  for (const backend of [referenceBackend, getBackend("auto")] as Backend[]) {
    const fresh = () => tinyModel(backend);
    const ex = qwenExamples();
    const micro = [makeBatch(ex.slice(0, 2), qwenTok.padId!), makeBatch(ex.slice(2, 3), qwenTok.padId!), makeBatch(ex.slice(3), qwenTok.padId!)];
    assert.ok(new Set(micro.map(b => b.numTokens)).size > 1, "micro-batches of unequal token counts (a plain mean of means would be wrong)");
    const [m1, m2] = [fresh(), fresh()];
    const acc = gradsOf(m1, () => accumulateSftLoss(m1, micro));
    const one = gradsOf(m2, () => sftLoss(m2, makeBatch(ex, qwenTok.padId!), true));
    const tol = backend === referenceBackend ? 1e-6 : 2e-5;
    assertNear([acc.loss], [one.loss], tol, `${backend.name} loss`);
    assertNear(acc.grads, one.grads, tol, `${backend.name} grads`);
    // A first Adam step is ≈ lr·sign(g): a larger epsilon keeps float32 noise on near-zero grads from flipping it.
    const opt = { learning_rate: 1e-2, adam_epsilon: 1e-4 };
    const [o1, o2] = [new AdamW(m1, backend, opt), new AdamW(m2, backend, opt)];
    const [s1, s2] = [o1.step(), o2.step()];
    assertNear([s1.gradNorm], [s2.gradNorm], tol, "grad norm");
    assertNear(m1.flatParams, m2.flatParams, 1e-5, `${backend.name} params after the step`);
    assert.ok(m1.flatParams.some((x, i) => x !== fresh().flatParams[i]), "the step moved the weights");
  }
});
