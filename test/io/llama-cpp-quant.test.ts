// Issue 18: llama.cpp (node-llama-cpp's prebuilt CPU binary) runs Move37's BF16 and Q8_0 GGUF exports of tiny
// random Qwen2 and Llama folders. Over a set of prompts, llama.cpp's logits at every prompt position stay within a
// stated bound of Move37's F32 model (the weights before rounding), and greedy tokens equal Move37's at stated
// rates (teacher-forced next tokens; free-running continuations). BF16 is also held against Move37's own BF16 load of
// the same folder (the same rounded weights).
// Flash attention off and an F32 KV cache, 1 thread, as in llama-cpp-compare.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { referenceBackend } from "../../src/engine/index.js";
import { exportGguf } from "../../src/model/io/gguf-export.js";
import { loadPretrained } from "../../src/model/io/pretrained.js";
import type { CausalLM } from "../../src/model/types.js";
import { loadTokenizer } from "../../src/tokenizer/load.js";
import { tinyConfigs, writeTinyFolder } from "./tiny-folder.js";
import { argmax, decodeLogits, llama, loadF32Context, maxLogitDiff, skipReason } from "./llama-cpp-compare.js";

type Token = import("node-llama-cpp").Token;

const PROMPTS = [
  "the cat sat on the mat, then the dog sat on it!", "a dog and a cat", "on the mat the cat sat", "the dog",
  "then it sat on the cat.", "mat mat mat, dog dog", "hello there, the cat is on", "it is the dog that sat",
];
const NEW_TOKENS = 12;
/**
 * Max |Δlogit| relative to the largest |logit| (~6–18 here), over every prompt position and token. These models have
 * O(1) random weights (writeTinyFolder: near-flat logits would make greedy comparisons meaningless), which amplify
 * weight rounding: F16 files measure ~4e-3 (llama-cpp.test.ts). BF16 keeps 8 significant bits (8× coarser than
 * F16) and llama.cpp also rounds the activations of its BF16 dot products to BF16: measured 3.0e-2 – 4.9e-2 against
 * Move37's F32 model, 2.6e-2 – 3.5e-2 against Move37's BF16 load of the same folder. Q8_0 rounds each weight to
 * 1/254 of its block's largest and llama.cpp quantizes the activations to Q8_0 too: measured 7.9e-2 – 1.15e-1.
 */
const REL_TOL = { bf16: 8e-2, q8_0: 1.6e-1 };
const REL_TOL_SAME_WEIGHTS = 6e-2;
/**
 * Greedy agreement. Teacher-forced: at every prompt position, llama.cpp's next token (argmax) equals Move37's F32
 * model's; measured 73–75 of 77 (BF16) and 68–73 of 77 (Q8_0). Free-running continuations of 12 tokens diverge
 * after the first near-tie flips: measured 67–87 of 96 tokens before the first difference (BF16), 53–75 (Q8_0).
 */
const ARGMAX_RATE = { bf16: 0.9, q8_0: 0.85 };
const CONTINUATION_RATE = { bf16: 0.6, q8_0: 0.45 };

const root = mkdtempSync(join(tmpdir(), "m37-llamacpp-quant-"));
test.after(() => rmSync(root, { recursive: true, force: true }));
test.after(() => llama?.dispose());

/** Move37's greedy continuation of `ids` through its KV cache. */
function greedy(model: CausalLM, ids: number[], n: number): number[] {
  const cache = model.newCache(1, 256);
  let logits = model.decode(cache, Int32Array.from(ids), new Uint8Array(ids.length).fill(1), ids.length);
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    out.push(argmax(logits));
    logits = model.decode(cache, Int32Array.from([out[k]]), Uint8Array.from([1]), 1);
  }
  return out;
}

for (const arch of ["qwen2", "llama"] as const) {
  test(`llama.cpp runs Move37's ${arch} GGUF in BF16 and Q8_0 close to Move37 (${PROMPTS.length} prompts)`, { skip: skipReason }, async t => {
    const dir = join(root, arch);
    const f32 = writeTinyFolder(dir, tinyConfigs[arch], 12, arch === "qwen2" ? "qwen2" : "gpt2");
    const bf16 = loadPretrained(dir, referenceBackend, { dtype: "bfloat16" }).model;
    const tok = loadTokenizer(dir);
    const prompts = PROMPTS.map(p => tok.encode(p, { addSpecialTokens: false }));
    const V = f32.config.vocab_size;
    for (const dtype of ["bf16", "q8_0"] as const) {
      const out = join(root, `${arch}-${dtype}.gguf`);
      assert.deepEqual(exportGguf(dir, out, dtype).warnings, []);
      const { lm, ctx } = await loadF32Context(out);
      try {
        const seq = ctx.getSequence();
        let worst = 0, worstSame = 0, equal = 0, tokensEqual = 0, argmaxEqual = 0, positions = 0;
        for (const ids of prompts) {
          await seq.clearHistory();
          const theirs = await seq.controlledEvaluate(ids.map(id => [id as Token, { generateNext: { logits: true, token: true } }] as const));
          const rows = ids.map((_, i) => {
            const map = theirs[i]!.next!.logits!;
            assert.equal(map.size, V, "llama.cpp returns the full vocab");
            return Float32Array.from({ length: V }, (_, v) => map.get(v as Token)!);
          });
          const oursRows = decodeLogits(f32, ids);
          const d = maxLogitDiff(oursRows, rows);
          oursRows.forEach((r, i) => { positions++; if (argmax(r) === argmax(rows[i])) argmaxEqual++; });
          worst = Math.max(worst, d.diff / d.maxAbs);
          if (dtype === "bf16") { const s = maxLogitDiff(decodeLogits(bf16, ids), rows); worstSame = Math.max(worstSame, s.diff / s.maxAbs); }
          // llama.cpp's greedy continuation against Move37's (F32 model)
          const got: number[] = [];
          let next = Number(theirs[ids.length - 1]!.next!.token);
          for (let k = 0; k < NEW_TOKENS; k++) {
            got.push(next);
            if (k < NEW_TOKENS - 1) next = Number((await seq.controlledEvaluate([[next as Token, { generateNext: { token: true } }]]))[0]!.next!.token);
          }
          const ours = greedy(f32, ids, NEW_TOKENS);
          if (ours.every((x, k) => x === got[k])) equal++;
          tokensEqual += ours.findIndex((x, k) => x !== got[k]) < 0 ? NEW_TOKENS : ours.findIndex((x, k) => x !== got[k]);
        }
        t.diagnostic(`${arch} ${dtype}: max relative |Δlogit| vs Move37 F32 ${worst.toExponential(2)}${dtype === "bf16" ? `, vs Move37's BF16 load ${worstSame.toExponential(2)}` : ""}; next-token argmax equal at ${argmaxEqual}/${positions} prompt positions; greedy continuations equal ${equal}/${prompts.length} (${tokensEqual}/${prompts.length * NEW_TOKENS} tokens before the first difference)`);
        assert.ok(worst <= REL_TOL[dtype], `${arch} ${dtype}: max relative |Δlogit| ${worst} exceeds ${REL_TOL[dtype]}`);
        assert.ok(worst > 1e-5, `${arch} ${dtype}: the file really holds rounded weights`);
        if (dtype === "bf16") assert.ok(worstSame <= REL_TOL_SAME_WEIGHTS, `${arch} bf16 vs Move37's BF16 load: ${worstSame} exceeds ${REL_TOL_SAME_WEIGHTS}`);
        assert.ok(argmaxEqual / positions >= ARGMAX_RATE[dtype], `${arch} ${dtype}: next-token argmax equal at ${argmaxEqual}/${positions} positions, below ${ARGMAX_RATE[dtype]}`);
        assert.ok(tokensEqual / (prompts.length * NEW_TOKENS) >= CONTINUATION_RATE[dtype], `${arch} ${dtype}: ${tokensEqual}/${prompts.length * NEW_TOKENS} continuation tokens before the first difference, below ${CONTINUATION_RATE[dtype]}`);
      } finally {
        await ctx.dispose();
        await lm.dispose();
      }
    }
  });
}
