/**
 * Serving benchmark: N concurrent HTTP clients, each asking `move37 serve` for one sampled completion
 * (/v1/completions, token-id prompt, max_tokens new tokens), against the peer: the same prompts decoded by one
 * in-process `generate` call (the batch the server should form, without HTTP, JSON or the batching window).
 * Figures: completed requests/s and generated tokens/s, and the largest batch the server formed.
 * The server runs in this process (its generator on a worker thread); the model is a random byte-level
 * Llama-style model written once to /tmp/m37-bench-serve/.
 *
 *   npm run bench -- serve [--clients 16] [--prompt-tokens 32] [--new-tokens 64] [--hidden 256] [--layers 4] [--rounds 3] [--batch-wait-ms 20]
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { getBackend } from "../src/engine/index.js";
import { createModel } from "../src/model/transformer.js";
import { loadPretrained, savePretrained } from "../src/model/io/pretrained.js";
import { ByteTokenizer } from "../src/tokenizer/byte.js";
import { byteTokenizerFiles } from "../src/train/pretrain.js";
import { generate } from "../src/sample/generate.js";
import { Rng } from "../src/sample/rng.js";
import { startServe } from "../src/serve/server.js";
import { figure, printFigures } from "./common.js";

const { values: a } = parseArgs({ options: {
  clients: { type: "string", default: "16" }, "prompt-tokens": { type: "string", default: "32" }, "new-tokens": { type: "string", default: "64" },
  hidden: { type: "string", default: "256" }, layers: { type: "string", default: "4" }, rounds: { type: "string", default: "3" },
  "batch-wait-ms": { type: "string", default: "20" },
} });
const C = Number(a.clients), P = Number(a["prompt-tokens"]), N = Number(a["new-tokens"]), H = Number(a.hidden), L = Number(a.layers), R = Number(a.rounds);

const dir = `/tmp/m37-bench-serve/h${H}-l${L}`;
const tok = new ByteTokenizer();
if (!existsSync(`${dir}/config.json`)) {
  savePretrained(createModel({ architecture: "llama", vocab_size: 258, hidden_size: H, num_hidden_layers: L, num_attention_heads: H / 64, num_key_value_heads: H / 64,
    intermediate_size: 4 * H, rope_theta: 10000, rms_norm_eps: 1e-5, attention_bias: false, tie_word_embeddings: true, max_position_embeddings: 1024,
    bos_token_id: tok.bosId, eos_token_id: tok.eosId }, getBackend("auto"), 1), dir, { files: byteTokenizerFiles(tok) });
}
const rng = new Rng(3);
const prompts = Array.from({ length: C }, () => Array.from({ length: P }, () => 32 + Math.floor(rng.nextFloat() * 95)));

// Peer: one in-process batched generate of the same work (EOS counts as a token on both sides).
const { model } = loadPretrained(dir, getBackend("auto"));
let peerSeconds = Infinity, peerTokens = 0;
for (let r = 0; r < R; r++) {
  const t0 = performance.now();
  const out = generate(model, tok, prompts, { maxNewTokens: N, temperature: 1, seed: r });
  const s = (performance.now() - t0) / 1000;
  if (s < peerSeconds) { peerSeconds = s; peerTokens = out.reduce((x, g) => x + g.ids.length, 0); }
}

const server = await startServe({ modelDir: dir, port: 0, batchWaitMs: Number(a["batch-wait-ms"]), maxBatchRows: Math.max(256, C) });
let bestSeconds = Infinity, bestTokens = 0;
try {
  await fetch(`${server.url}/v1/completions`, { method: "POST", body: JSON.stringify({ prompt: prompts[0], max_tokens: 2 }) }); // warm-up
  for (let r = 0; r < R; r++) {
    const t0 = performance.now();
    const answers = await Promise.all(prompts.map(p => fetch(`${server.url}/v1/completions`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: p, max_tokens: N, temperature: 1 }),
    }).then(res => res.json() as Promise<{ usage: { completion_tokens: number } }>)));
    const s = (performance.now() - t0) / 1000;
    if (s < bestSeconds) { bestSeconds = s; bestTokens = answers.reduce((x, j) => x + j.usage.completion_tokens, 0); }
  }
} finally {
  await server.close();
}

const peer = "in-process generate, one batch";
printFigures([
  figure({ bench: "serve", figure: `requests/s, ${C} concurrent clients`, unit: "req/s", value: C / bestSeconds, peer, peer_value: C / peerSeconds }),
  figure({ bench: "serve", figure: `generated tokens/s, ${C} clients × ${N} tokens`, unit: "tokens/s", value: bestTokens / bestSeconds, peer, peer_value: peerTokens / peerSeconds }),
], `model: byte-level llama h${H} L${L}; prompt ${P} tokens; best of ${R}; largest batch the server formed: ${server.stats.maxBatchRequests} requests (${server.stats.batches} batches for ${server.stats.requests} requests)`);
