// Every random stream the project's results depend on, recorded as plain numbers: the task generator (problems,
// held-out sets, dataset splits), the sampling generator (sampling, self-play), the distributions over it, the
// model initialisation, and the shuffles of the SFT and reward-model data. test/rng/streams.test.ts holds the
// current code to the values in test/fixtures/rng-streams.json, which write-streams.ts recorded from the code as it
// was before the RNG module was moved (commit 13f7adb): any change to a stream fails it.
import { createHash } from "node:crypto";
import { referenceBackend } from "../../src/engine/reference.js";
import { ModelConfigSchema } from "../../src/model/config.js";
import { createModel } from "../../src/model/transformer.js";
import { dirichlet, gamma, makeRng, mixSeed, normal, normalRng, randInt, Rng, uniformRng } from "../../src/rng.js";
import { makeTask, trainEvalSplit, splitDataset } from "../../src/tasks/index.js";
import { epochBatches, splitRows } from "../../src/train/sft-data.js";
import { splitPairsByPrompt } from "../../src/train/reward-model-data.js";
import { MlpNetwork } from "../../src/selfplay/network.js";
import { connect4 } from "../../src/selfplay/games/connect4.js";

const N = 256;
const take = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
const sha = (x: Float32Array | Float64Array) => createHash("sha256").update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength)).digest("hex");

export function recordStreams(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Task generator (mulberry32 with the 0x9e3779b9 seed XOR) and its seed mixer.
  for (const seed of [0, 1, 42, 0xdeadbeef]) {
    const r = makeRng(seed);
    out[`task.next.${seed}`] = take(N, () => r.next());
  }
  const r = makeRng(7);
  out["task.int"] = take(64, () => r.int(-5, 17));
  out["task.pick"] = take(64, () => r.pick(["a", "b", "c", "d", "e"]));
  out["task.weighted"] = take(64, () => r.weighted([0.1, 3, 0, 1.5]));
  out["task.mixSeed"] = take(64, i => mixSeed(i)).concat(take(64, i => mixSeed(1, i, 0)), take(64, i => mixSeed(0xffffffff, i, i * 7, 3)));
  // Sampling generator (xoshiro128** seeded through splitmix32) and its streams.
  for (const seed of [0, 1, 42, 0xdeadbeef]) {
    const g = new Rng(seed);
    out[`sample.u32.${seed}`] = take(N, () => g.nextU32());
    out[`sample.float.${seed}`] = take(N, () => g.nextFloat());
  }
  out["sample.forStream"] = take(64, i => Rng.forStream(12345, i).nextU32()).concat(take(64, i => Rng.forStream(i, 3).nextU32()));
  out["sample.state"] = take(16, i => new Rng(i).state());
  // Distributions over the sampling generator (self-play).
  const d = new Rng(99);
  out["dist.normal"] = take(N, () => normal(d));
  out["dist.randInt"] = take(64, () => randInt(d, 7));
  out["dist.gamma"] = [0.3, 1, 2.5].flatMap(shape => take(64, () => gamma(d, shape)));
  out["dist.dirichlet"] = take(8, () => Array.from(dirichlet(d, 0.3, 7)));
  // Model initialisation's generator (mulberry32 without the XOR, Box-Muller with a spare).
  for (const seed of [0, 1, 9]) {
    const u = uniformRng(seed), n = normalRng(seed);
    out[`init.uniform.${seed}`] = take(N, () => u());
    out[`init.normal.${seed}`] = take(N, () => n());
  }
  const config = ModelConfigSchema.parse({
    architecture: "llama", vocab_size: 50, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
    intermediate_size: 24, max_position_embeddings: 32, tie_word_embeddings: false,
  });
  out["init.model.sha256"] = [0, 1, 42].map(seed => sha(createModel(config, referenceBackend, seed).flatParams));
  const net = new MlpNetwork({ hidden: 16, blocks: 2, inputSize: connect4.inputSize, actions: connect4.actions }, referenceBackend);
  net.init(new Rng(5));
  out["selfplay.init.sha256"] = sha(net.flatParams);
  // Held-out sets and training streams of the shipped arithmetic recipe (r1-zero-tiny's task and seeds) and countdown.
  const arithmetic = makeTask({ type: "arithmetic", min_terms: 4, max_terms: 7, digits: 1, ops: ["+", "-"], non_negative: true });
  const split = trainEvalSplit(arithmetic, { train_seed: 1, eval_seed: 2, eval_size: 256 });
  out["tasks.arithmetic.eval"] = split.eval.map(e => e.id);
  out["tasks.arithmetic.train"] = take(128, i => split.train(i).id);
  const countdown = makeTask({ type: "countdown" });
  const cs = trainEvalSplit(countdown, { train_seed: 3, eval_seed: 4, eval_size: 64 });
  out["tasks.countdown.eval"] = cs.eval.map(e => e.id);
  out["tasks.countdown.train"] = take(64, i => cs.train(i).id);
  // The shuffles: dataset splits, SFT epochs, reward-model pairs.
  const rows = take(100, i => ({ id: `r${i % 90}`, question: `q${i}`, answer: `${i}` }));
  const ds = splitDataset(rows, 10, 17);
  out["shuffle.splitDataset"] = [ds.eval.map(e => e.question), ds.train.map(e => e.question)];
  const sr = splitRows(take(50, i => i), 7, 3);
  out["shuffle.splitRows"] = [sr.eval, sr.train];
  const lengths = take(300, i => (i * 37) % 101 + 1);
  out["shuffle.epochBatches"] = [epochBatches(lengths, 8, 5, 0, false), epochBatches(lengths, 8, 5, 1, true)];
  const pairs = take(60, i => ({ prompt: `p${i % 23}`, chosen: "a", rejected: "b", margin: 0 }));
  const sp = splitPairsByPrompt(pairs as never, 9, 11);
  out["shuffle.splitPairsByPrompt"] = sp.eval.map(p => p.prompt);
  return out;
}
