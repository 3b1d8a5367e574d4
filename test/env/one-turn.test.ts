// The single-turn case on the episode path: the `problems` environment gives the completions the sampler gives, and
// the episode mask trains them as the up-to-first-EOS mask does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { getBackend } from "../../src/engine/index.js";
import { createModel } from "../../src/model/transformer.js";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { generate } from "../../src/sample/generate.js";
import { promptFormat, PromptConfigSchema } from "../../src/sample/prompt-format.js";
import { AdamW } from "../../src/train/optimizer.js";
import { grpoStep } from "../../src/train/grpo/step.js";
import { GRPOConfigSchema } from "../../src/train/grpo/config.js";
import { mixSeed } from "../../src/rng.js";
import type { Example } from "../../src/tasks/types.js";
import { EnvironmentConfigSchema, environmentSpec } from "../../src/env/environment.js";
import { runEpisodes } from "../../src/env/episode.js";

const tok = new ByteTokenizer(), backend = getBackend("auto");
const config = { architecture: "llama", vocab_size: 258, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1,
  intermediate_size: 64, rope_theta: 10000, rms_norm_eps: 1e-5, attention_bias: false, tie_word_embeddings: true, max_position_embeddings: 128,
  bos_token_id: tok.bosId, eos_token_id: tok.eosId } as const;

test("the problems environment is the single-turn case: the sampler's completions, trained with the same mask", async () => {
  const model = createModel(config, backend, 9);
  const fmt = promptFormat(PromptConfigSchema.parse({}), tok);
  const rows = ["1+2", "3*4", "5-6"].map((q, i) => ({ id: `r${i}`, question: q, answer: "" }) as Example);
  const cfg = EnvironmentConfigSchema.parse({ type: "problems", format: "tags", max_tokens: 12 });
  const G = 4, seed = 77, sampling = { temperature: 1, stop: fmt.stop, eosTokenIds: [tok.eosId!] };
  const { episodes } = await runEpisodes(ep => environmentSpec("problems").create(cfg, ep), rows, G, {
    cfg, maxTokens: 12, format: "tags", tokenizer: tok, fmt, seed,
    generate: async (prompts, s) => generate(model, tok, prompts, { ...sampling, maxNewTokens: s.maxNewTokens, seeds: s.seeds }),
  });
  // the same prompts, one sampler call, the same per-episode streams
  const prompts = rows.flatMap(r => Array.from({ length: G }, () => fmt.encode(r)));
  const direct = generate(model, tok, prompts, { ...sampling, maxNewTokens: 12, seeds: prompts.map((_, i) => mixSeed(seed, i, 0)) });
  assert.equal(episodes.length, 12);
  episodes.forEach((e, i) => {
    assert.deepEqual(e.promptIds, prompts[i]);
    assert.deepEqual(e.ids, direct[i].ids, `episode ${i}`);
    assert.deepEqual(e.logprobs, direct[i].logprobs);
    assert.equal(fmt.completion(e), fmt.completion(direct[i]));
    assert.equal(e.stats.turns, 1);
    assert.ok(e.mask.every(m => m === 1));
  });
  // trained with the episode mask or the EOS mask: the same step
  const g = GRPOConfigSchema.parse({ reward_funcs: ["math"], num_generations: G, prompts_per_step: 3, beta: 0 });
  const advantages = episodes.map((_, i) => Math.sin(i));
  const step = (withMask: boolean) => {
    const m = createModel(config, backend, 9);
    const r = grpoStep(m, new AdamW(m, backend, { learning_rate: 1e-3 }), { prompts, rows: episodes.map((e, i) => ({ prompt: i, ids: e.ids, ...(withMask ? { mask: e.mask } : {}) })), advantages }, g, { eosIds: [tok.eosId!], lr: 1e-3 });
    return { loss: r.losses[0], norm: r.gradNorms[0], params: Array.from(m.flatParams.slice(0, 64)) };
  };
  assert.deepEqual(step(true), step(false));
});
