/**
 * Peer of bench/generate.ts and bench/rollout.ts: llama.cpp (node-llama-cpp's prebuilt CPU binary) greedy-decoding a
 * GGUF (any dtype) of the same weights, with the same prompts, new-token count and thread count. Prints one JSON line.
 *
 * Batch B runs the way llama.cpp's own batched-bench does: one context with B sequences, and every decode step is
 * one llama_decode of B tokens (one per sequence). All B sequences call controlledEvaluate for their next token in
 * the same tick, and node-llama-cpp's batcher ("nextCycle" dispatch) packs the pending items into one batch. The
 * prompts are prefilled the same way (B × P tokens in batches of up to 512). Independent `seq.evaluate()` generators,
 * which the previous version ran, leave the batcher only a few sequences per decode (measured 20 against 38 tokens/s
 * at B = 8, /work/shared/gguf-notes.md) and, at B = 32 with 2 threads on a loaded machine, did not finish in 29 min.
 *
 * TIME_LIMIT_S (default: none) bounds the whole run: a phase still decoding at the deadline stops after its current
 * step and reports the rate over the steps it did, with `*_complete: false` and the step count, so the caller can
 * print "peer did not finish" instead of hanging.
 *
 *   node --import tsx bench/peers/llama_generate.ts MODEL.gguf PROMPTS.json NEW_TOKENS BATCH THREADS [TIME_LIMIT_S]
 */
import { readFileSync } from "node:fs";
import { getLlama, LlamaLogLevel, type ControlledEvaluateInputItem, type Token } from "node-llama-cpp";

const [gguf, promptsPath, newArg, batchArg, threadsArg, limitArg] = process.argv.slice(2);
const prompts = JSON.parse(readFileSync(promptsPath, "utf8")) as number[][];
const N = Number(newArg), B = Number(batchArg), threads = Number(threadsArg);
const P = prompts[0].length;
const deadline = limitArg ? performance.now() + Number(limitArg) * 1000 : Infinity;

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: threads });
const model = await llama.loadModel({ modelPath: gguf });

/**
 * Greedy-decodes N tokens for each of `batch` prompts in lockstep: prefill + first token, then N − 1 steps of one
 * token per sequence. Decode rate = batch × steps done / time after every first token.
 */
async function run(batch: number) {
  const ctx = await model.createContext({ contextSize: P + N, sequences: batch, threads, batchSize: Math.min(512, Math.max(batch, batch * P)) });
  try {
    const seqs = Array.from({ length: batch }, () => ctx.getSequence());
    const t0 = performance.now();
    let next = await Promise.all(seqs.map(async (seq, i) => {
      const items: ControlledEvaluateInputItem[] = prompts[i].map((id, j) => (j === P - 1 ? [id as Token, { generateNext: { token: true } }] : id as Token));
      return (await seq.controlledEvaluate(items)).at(-1)!.next!.token!;
    }));
    const firstDone = performance.now();
    let steps = 0;
    while (steps < N - 1 && performance.now() < deadline) {
      next = await Promise.all(seqs.map(async (seq, i) => (await seq.controlledEvaluate([[next[i], { generateNext: { token: true } }]]))[0]!.next!.token!));
      steps++;
    }
    const t1 = performance.now();
    return { ttft_s: (firstDone - t0) / 1000, decode_tokens_per_s: steps ? batch * steps / ((t1 - firstDone) / 1000) : 0, steps, complete: steps === N - 1 };
  } finally { await ctx.dispose(); }
}

/** Prefill alone: one prompt evaluated without generating, best of three. */
async function prefill() {
  const ctx = await model.createContext({ contextSize: P + N, sequences: 1, threads, batchSize: P });
  try {
    let best = Infinity;
    for (let r = 0; r < 3 && (r === 0 || performance.now() < deadline); r++) {
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
  b1_complete: one.complete, b1_steps: one.steps, batch_complete: many.complete, batch_steps: many.steps, batch_ttft_s: many.ttft_s,
}));
await model.dispose();
await llama.dispose();
