import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadPretrained } from "../../src/model/io/pretrained.js";
import { loadTokenizer } from "../../src/tokenizer/load.js";
import { getBackend } from "../../src/engine/index.js";
import { runTrainer, metricsOf, tempRoot } from "./trainer-harness.js";

const micro = (output_dir: string, max_steps: number) => ({
  model: { vocab_size: 258, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 64, max_position_embeddings: 64 },
  seq_len: 32, batch_size: 4, max_steps, eval_every: max_steps, eval_batches: 1, save_steps: 2, output_dir,
  optimizer: { learning_rate: 3e-3 }, schedule: { lr_scheduler_type: "constant" }, seed: 3,
});

test("pretraining lowers the held-out loss and writes a loadable model folder with its tokenizer", async () => {
  const root = tempRoot("pretrain");
  const out = join(root, "model");
  const run = await runTrainer("pretrain", micro(out, 30), { root });
  const rows = metricsOf(run);
  assert.equal(rows.length, 30);
  const first = rows[0].loss, last = rows.at(-1)!.eval_loss;
  // ln(258) ≈ 5.55 at init; the byte distribution alone is worth well over a nat.
  assert.ok(first > 5, `initial loss ${first}`);
  assert.ok(last < first - 1, `eval loss ${last} should be at least a nat below the first step's ${first}`);
  const { model } = loadPretrained(out, getBackend("reference"));
  assert.equal(model.config.hidden_size, 32);
  const tok = loadTokenizer(out);
  assert.equal(tok.decode(tok.encode("3+4=7")), "3+4=7");
  assert.equal(tok.eosId, model.config.eos_token_id);
});

test("a run stopped and resumed from its checkpoint logs the same metrics as an uninterrupted run", async () => {
  const root = tempRoot("pretrain-resume");
  const straight = metricsOf(await runTrainer("pretrain", micro(join(root, "a"), 6), { root, runName: "straight" }));
  // Stop after 4 steps (the trainer checkpoints on stop), then resume to the end.
  const cut = await runTrainer("pretrain", micro(join(root, "b"), 6), { root, runName: "cut", abortAfterLog: 4 });
  assert.equal(metricsOf(cut).length, 4);
  assert.ok(existsSync(join(cut.checkpointsDir, "latest.json")));
  const resumed = metricsOf(await runTrainer("pretrain", micro(join(root, "b"), 6), { root, resumeDir: cut.dir }));
  assert.equal(resumed.length, 6);
  for (let i = 0; i < 6; i++) {
    assert.equal(resumed[i].loss, straight[i].loss, `step ${i + 1} loss`);
    assert.equal(resumed[i].grad_norm, straight[i].grad_norm, `step ${i + 1} grad norm`);
  }
});

test("init_from continues pretraining from a model folder's weights (recipes/base-bilingual.yaml); other shapes are refused by name", async () => {
  const root = tempRoot("pretrain-init");
  const first = join(root, "first-model");
  await runTrainer("pretrain", micro(first, 30), { root, runName: "first" });
  // a second run from the first's weights, at learning rate 0: it starts where the first ended, not from a random init
  const cont = { ...micro(join(root, "cont-model"), 1), init_from: first, optimizer: { learning_rate: 0 }, seed: 4 };
  const again = await runTrainer("pretrain", cont, { root, runName: "cont" });
  const fresh = await runTrainer("pretrain", { ...cont, init_from: undefined, output_dir: join(root, "fresh-model") }, { root, runName: "fresh" });
  const a = loadPretrained(first, getBackend("reference")).model.flatParams, b = loadPretrained(join(root, "cont-model"), getBackend("reference")).model.flatParams;
  assert.deepEqual(b, a);
  assert.ok(metricsOf(again)[0].loss < metricsOf(fresh)[0].loss - 1, `from the trained weights the loss starts ${metricsOf(again)[0].loss}, from scratch ${metricsOf(fresh)[0].loss}`);
  const wider = { ...cont, model: { ...cont.model, hidden_size: 64 } };
  await assert.rejects(runTrainer("pretrain", wider, { root, runName: "wider" }), /init_from .* has hidden_size 32 but the recipe's model has 64/);
});
