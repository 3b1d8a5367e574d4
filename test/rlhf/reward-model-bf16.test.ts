/**
 * A reward model with its trunk in BF16 (issue 18 §2: frozen weights and every inference path can live in BF16):
 * - scoring: a reward-model folder of random weights loaded with `dtype: "bfloat16"` holds half the bytes and scores
 *   within BF16 rounding of the same folder loaded in F32 (the bound is stated at the test), and exactly like an F32
 *   model holding the BF16-rounded weights on the reference backend (so rounding the weights is the only difference);
 * - GRPO's `reward_model_dtype: bfloat16` reaches the `reward_model` reward (useModelRewards loads the BF16 trunk);
 * - the reward-model trainer refuses `torch_dtype: bfloat16` without `lora:` with FrozenWeightsError before any work.
 * The LoRA reward model trained on a BF16 trunk is test/lora/lora-reward-model.test.ts (one test over both dtypes).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { getBackend, referenceBackend, type Backend } from "../../src/engine/index.js";
import { bf16ToF32, f32ToBf16 } from "../../src/model/io/half.js";
import { bf16Eligible, FrozenWeightsError } from "../../src/model/params.js";
import { loadTokenizer } from "../../src/tokenizer/load.js";
import { makeRng } from "../../src/tasks/rng.js";
import { useModelRewards, rewardModelBatch, scoreTexts } from "../../src/rewards/reward-model.js";
import { GRPORecipeSchema } from "../../src/train/grpo-trainer.js";
import { encodeSequence, loadRewardModel, padRows, rewardModelFrom, saveRewardModel, scoreSequences, type RewardModel } from "../../src/train/reward-model-net.js";
import { byteModelFolder } from "../pipeline/micro.js";
import { microRecipe } from "../train/grpo-micro.js";
import { runTrainer, tempRoot } from "../train/trainer-harness.js";
import { rewardModelRecipe } from "./pairs.js";

const root = tempRoot("rm-bf16");
const LAYERS = 2;

/** A reward-model folder of random weights (trunk: the micro byte model, 2 layers, hidden 32; head: N(0, 1)). */
function randomRewardModelFolder(): string {
  const base = byteModelFolder(root, "base", 32, LAYERS, 7);
  const rm = rewardModelFrom(base, getBackend("auto"), { init: "pretrained", maxLength: 48, seed: 2 });
  const rng = makeRng(9);
  for (let h = 0; h < rm.score.length; h++) rm.score[h] = 2 * rng.next() - 1;
  const dir = join(root, "rm");
  saveRewardModel(rm, dir, { copyFrom: base });
  return dir;
}
const dir = randomRewardModelFolder();
const tok = loadTokenizer(dir);

/** Prompt + completion pairs of random printable text, 2 to 40 bytes in all. */
const items = (() => {
  const rng = makeRng(3), text = (n: number) => Array.from({ length: n }, () => String.fromCharCode(32 + rng.int(0, 94))).join("");
  return Array.from({ length: 24 }, () => ({ prompt: text(rng.int(1, 12)), continuation: text(rng.int(1, 28)) }));
})();
const seqs = items.map(x => encodeSequence(tok, x.prompt, x.continuation, 48).ids);

/** S_i = Σ_h |score_h · h_h| at each sequence's last token: the scale of the products its reward sums. */
function productScale(rm: RewardModel): number[] {
  return seqs.map(s => {
    const p = padRows([s], tok.padId ?? tok.eosId ?? 0), H = rm.score.length;
    const xf = rm.trunk.forwardHidden(p.tokens, p.mask, 1, p.T), o = (s.length - 1) * H;
    let S = 0;
    for (let h = 0; h < H; h++) S += Math.abs(rm.score[h] * xf[o + h]);
    return S;
  });
}

const bytes = (rm: RewardModel) => 4 * rm.trunk.flatParams.length + rm.trunk.bf16Params.reduce((n, p) => n + 2 * p.data.length, 0);

/**
 * The bound: each of the n = 7L + 1 rounded tensors on the path to the head (the embedding and the seven projections
 * of each of L layers; the tied LM head is not used) changes its products by at most 2⁻⁹ relative (round to nearest
 * of the weight), and the native AVX512-BF16 kernel rounds the activations too (another 2⁻⁹): 2⁻⁸ per tensor. To first
 * order these add along the path, and RMSNorm carries relative errors through unchanged, so
 * |r_bf16 − r_f32| ≤ n · 2⁻⁸ · S with S = Σ_h |score_h · h_h|. A trunk read wrongly (a zero or garbled weight) moves
 * a reward by O(S) and fails it; the measured worst case is printed.
 */
test("a BF16 reward model holds half the bytes and scores within n·2⁻⁸·Σ|score·h| of the F32 one (n = 7L + 1 rounded tensors)", () => {
  const be = getBackend("auto");
  const f32 = loadRewardModel(dir, be).rm, bf = loadRewardModel(dir, be, { dtype: "bfloat16" }).rm;
  assert.equal(bf.trunk.weightsDtype, "bfloat16");
  assert.ok(bf.trunk.bf16Params.length === 7 * LAYERS + 1, `BF16 tensors: ${bf.trunk.bf16Params.map(p => p.name)}`);
  assert.deepEqual(Array.from(bf.score), Array.from(f32.score), "the head stays F32, as saved");
  const ratio = bytes(bf) / bytes(f32);
  assert.ok(ratio < 0.53, `trunk + head bytes: BF16 / F32 = ${ratio.toFixed(3)}`);

  const rf = scoreSequences(f32, seqs, tok.eosId!, 8), rb = scoreSequences(bf, seqs, tok.eosId!, 8), S = productScale(f32);
  const n = 7 * LAYERS + 1, bound = n * 2 ** -8;
  let worst = 0, differ = 0;
  for (let i = 0; i < seqs.length; i++) {
    const rel = Math.abs(rb[i] - rf[i]) / S[i];
    worst = Math.max(worst, rel);
    if (rb[i] !== rf[i]) differ++;
    assert.ok(rel <= bound, `sequence ${i}: |${rb[i]} − ${rf[i]}| = ${rel.toExponential(2)}·S > ${bound.toExponential(2)}·S`);
  }
  assert.ok(differ > seqs.length / 2, `the BF16 trunk should change most rewards a little (${differ} of ${seqs.length} differ)`);
  console.log(`BF16 vs F32 rewards: worst |Δr| = ${worst.toExponential(2)}·S (bound ${bound.toExponential(2)}·S), ${differ}/${seqs.length} differ`);
});

/** The F32 reward model with every BF16-eligible trunk weight rounded to BF16 (what the BF16 trunk holds). */
function roundedF32(be: Backend): RewardModel {
  const { rm } = loadRewardModel(dir, be);
  for (const p of rm.trunkParams) if (bf16Eligible(p.name)) {
    const h = new Uint16Array(p.data.length);
    f32ToBf16(p.data, h); bf16ToF32(h, p.data);
  }
  return rm;
}

test("on the reference backend a BF16 reward model scores as the F32 model holding the rounded weights (within 1e-5·S)", () => {
  const want = roundedF32(referenceBackend), bf = loadRewardModel(dir, referenceBackend, { dtype: "bfloat16" }).rm;
  const rw = scoreSequences(want, seqs, tok.eosId!, 8), rb = scoreSequences(bf, seqs, tok.eosId!, 8), S = productScale(want);
  for (let i = 0; i < seqs.length; i++) assert.ok(Math.abs(rb[i] - rw[i]) <= 1e-5 * S[i], `sequence ${i}: ${rb[i]} vs ${rw[i]} (S ${S[i]})`);
});

test("GRPO's reward_model_dtype (default float32) loads the reward model's trunk in BF16 for the reward_model reward", async () => {
  assert.equal(GRPORecipeSchema.parse(microRecipe(dir, { reward_model: dir })).reward_model_dtype, "float32");
  assert.equal(GRPORecipeSchema.parse(microRecipe(dir, { reward_model: dir, reward_model_dtype: "bfloat16" })).reward_model_dtype, "bfloat16");
  assert.throws(() => GRPORecipeSchema.parse(microRecipe(dir, { reward_model: dir, reward_model_dtype: "float16" })), /reward_model_dtype/);
  const be = getBackend("auto");
  const examples = items.map(x => ({ answer: "", prompt_text: x.prompt, continuation: x.continuation }));
  const completions = items.map(x => x.continuation);
  const expect = (dtype: "float32" | "bfloat16") => Array.from(scoreTexts(loadRewardModel(dir, be, { dtype }).rm, tok, items));
  useModelRewards(["reward_model"], { rewardModel: dir, rewardModelDtype: "bfloat16", policy: "unused", temperature: 1 });
  const bf = await rewardModelBatch(completions, examples);
  assert.deepEqual(bf, expect("bfloat16"));
  // the same folder asked in float32 is loaded again, not served from the BF16 model
  useModelRewards(["reward_model"], { rewardModel: dir, rewardModelDtype: "float32", policy: "unused", temperature: 1 });
  const f32 = await rewardModelBatch(completions, examples);
  assert.deepEqual(f32, expect("float32"));
  assert.notDeepEqual(bf, f32);
});

test("the reward-model trainer refuses torch_dtype bfloat16 without lora: with FrozenWeightsError, before reading anything", async () => {
  const model = byteModelFolder(join(root, "refuse"), "micro", 16, 1, 5);
  const missing = join(root, "refuse", "no-such-pairs.jsonl");
  assert.ok(!existsSync(missing));
  // the pairs file does not exist: the error must come before any data (or weights) are read
  await assert.rejects(runTrainer("reward-model", rewardModelRecipe(model, missing, { torch_dtype: "bfloat16" }), { root: join(root, "refuse") }),
    (e: Error) => e instanceof FrozenWeightsError && /torch_dtype bfloat16 without a lora: block/.test(e.message) && /torch_dtype: float32/.test(e.message));
});
