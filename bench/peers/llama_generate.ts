/**
 * Peer of bench/generate.ts: llama.cpp (node-llama-cpp's prebuilt CPU binary) decoding the F32 GGUF of the same
 * weights, greedy, with the same prompts, new-token count and thread count. Prints one JSON line.
 *
 *   node --import tsx bench/peers/llama_generate.ts MODEL.gguf PROMPTS.json NEW_TOKENS BATCH THREADS
 */
import { readFileSync } from "node:fs";
import { getLlama, LlamaLogLevel, type Token } from "node-llama-cpp";

const [gguf, promptsPath, newArg, batchArg, threadsArg] = process.argv.slice(2);
const prompts = JSON.parse(readFileSync(promptsPath, "utf8")) as number[][];
const N = Number(newArg), B = Number(batchArg), threads = Number(threadsArg);
const P = prompts[0].length;

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: threads });
const model = await llama.loadModel({ modelPath: gguf });

/** Greedy-decodes N tokens for each prompt in parallel sequences; times the first token and the rest. */
async function run(batch: number) {
  const ctx = await model.createContext({ contextSize: P + N, sequences: batch, threads, batchSize: Math.min(512, batch * P) });
  try {
    const seqs = Array.from({ length: batch }, () => ctx.getSequence());
    const t0 = performance.now();
    let firstDone = 0;
    await Promise.all(seqs.map(async (seq, i) => {
      let n = 0;
      for await (const _ of seq.evaluate(prompts[i] as Token[], { temperature: 0 })) {
        if (++n === 1) firstDone = Math.max(firstDone, performance.now());
        if (n >= N) break;
      }
    }));
    const t1 = performance.now();
    return { ttft_s: (firstDone - t0) / 1000, decode_tokens_per_s: batch * (N - 1) / ((t1 - firstDone) / 1000) };
  } finally { await ctx.dispose(); }
}

/** Prefill alone: one prompt evaluated without generating, best of three. */
async function prefill() {
  const ctx = await model.createContext({ contextSize: P + N, sequences: 1, threads, batchSize: P });
  try {
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const seq = ctx.getSequence();
      const t0 = performance.now();
      await seq.evaluateWithoutGeneratingNewTokens(prompts[0] as Token[]);
      best = Math.min(best, (performance.now() - t0) / 1000);
      seq.dispose();
    }
    return P / best;
  } finally { await ctx.dispose(); }
}

const prefillTps = await prefill();
const one = await run(1);
const many = await run(B);
console.log(JSON.stringify({
  prefill_tokens_per_s: prefillTps, ttft_s: one.ttft_s, decode_b1_tokens_per_s: one.decode_tokens_per_s,
  decode_batch_tokens_per_s: many.decode_tokens_per_s, peak_rss_mb: process.resourceUsage().maxRSS / 1024, threads,
}));
await model.dispose();
await llama.dispose();
