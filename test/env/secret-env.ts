// The micro multi-turn setup shared by the GRPO episode tests: a `secret` environment whose reward is a random number
// only its tool returns, a byte model warmed to call the tool a quarter of the time, and the recipe.
import { z } from "zod";
import { getBackend } from "../../src/engine/index.js";
import { createModel } from "../../src/model/transformer.js";
import { savePretrained } from "../../src/model/io/pretrained.js";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { byteTokenizerFiles } from "../../src/train/pretrain.js";
import { AdamW } from "../../src/train/optimizer.js";
import { defineTool } from "../../src/env/tools.js";
import { registerEnvironment, type Environment, type EpisodeContext } from "../../src/env/environment.js";
import { uniformRng } from "../../src/rng.js";

const PROMPT = "Q:";
export const CALL = "<call>secret</call>";

/** Each instance draws its own 4-digit secret; the episode earns 1 when the last number in it is the secret. */
function secretEnvironment(withTool: boolean): (cfg: unknown, episode: EpisodeContext) => Environment {
  return (_, { seed }) => {
    const rng = uniformRng(seed);
    const secret = String(1000 + Math.floor(rng() * 9000));
    const seen: string[] = [];
    return {
      tools: withTool ? [defineTool({ name: "secret", description: "Returns the secret number.", parameters: z.object({}), run: () => secret })] : [],
      reset: () => ({ prompt: PROMPT }),
      step: turn => { seen.push(turn.text, ...turn.results.map(r => r.content)); return turn.calls.length ? null : { done: true }; },
      reward: () => (seen.join(" ").match(/\d+/g)?.at(-1) === secret ? 1 : 0),
    };
  };
}
registerEnvironment({ name: "test-secret", description: "test: a number only the tool knows", create: secretEnvironment(true) });
registerEnvironment({ name: "test-secret-no-tool", description: "test: the same without the tool", create: secretEnvironment(false) });

/** A byte model that answers PROMPT with 4 digits (85%) or with a call, then EOS after the result (15%). */
export function warmModel(dir: string): string {
  const tok = new ByteTokenizer(), backend = getBackend("auto");
  const model = createModel({ architecture: "llama", vocab_size: 258, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1,
    intermediate_size: 64, rope_theta: 10000, rms_norm_eps: 1e-5, attention_bias: false, tie_word_embeddings: true, max_position_embeddings: 64,
    bos_token_id: tok.bosId, eos_token_id: tok.eosId }, backend, 11);
  const opt = new AdamW(model, backend, { learning_rate: 0.01, max_grad_norm: 1 });
  const rng = uniformRng(2);
  const digits = () => String(1000 + Math.floor(rng() * 9000));
  const B = 16;
  for (let step = 0; step < 150; step++) {
    const seqs = Array.from({ length: B }, () => [...tok.encode(PROMPT + (rng() < 0.25 ? `${CALL}<result>${digits()}</result>` : digits())), tok.eosId!]);
    const T = Math.max(...seqs.map(s => s.length)) - 1;
    const tokens = new Int32Array(B * T), attention = new Uint8Array(B * T), targets = new Int32Array(B * T).fill(-1);
    let n = 0;
    seqs.forEach((s, b) => { for (let t = 0; t < s.length - 1; t++) { tokens[b * T + t] = s[t]; attention[b * T + t] = 1; if (t >= PROMPT.length - 1) { targets[b * T + t] = s[t + 1]; n++; } } });
    model.flatGrads.fill(0);
    model.forward(tokens, attention, targets, B, T, 1);
    model.backward(Float32Array.from(targets, x => (x >= 0 ? -1 / n : 0)));
    opt.step();
  }
  savePretrained(model, dir, { files: byteTokenizerFiles(tok) });
  return dir;
}

export const recipe = (model: string, env: string) => ({
  model, task: { type: "arithmetic", min_terms: 2, max_terms: 2 }, eval_size: 16, eval_sampled: false,
  accuracy_reward: "environment", format_reward: "environment", save_steps: 0, log_completions: 4,
  environment: { type: env, format: "tags", max_turns: 2, max_tokens: 48 },
  grpo: { num_generations: 8, prompts_per_step: 4, max_completion_length: 48, reward_funcs: ["environment"], learning_rate: 0.003, max_steps: 15, seed: 3, loss_type: "dapo" },
});

