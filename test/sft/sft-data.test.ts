import { test } from "node:test";
import { readFileSync } from "node:fs";
import assert from "node:assert/strict";
import { getBackend } from "../../src/engine/index.js";
import { createModel } from "../../src/model/transformer.js";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { epochBatches, makeBatch, parseSftJsonl, tokenizeRow, SFTDataError } from "../../src/train/sft-data.js";
import { sftLoss, SFTConfigSchema } from "../../src/train/sft.js";
import { arithmeticTraces, TracesConfigSchema } from "../../src/train/sft-traces.js";
import { distinctExamples, makeTask } from "../../src/tasks/index.js";
import { tinyModel, tokenizer as qwenTok } from "../sample/tiny-model.js";
import { traceRows } from "./fixtures.js";

const tok = new ByteTokenizer();
const micro = () => createModel({ architecture: "llama", vocab_size: 258, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1,
  intermediate_size: 64, rope_theta: 10000, rms_norm_eps: 1e-5, attention_bias: false, tie_word_embeddings: true, max_position_embeddings: 128, bos_token_id: 256, eos_token_id: 256 }, getBackend("auto"), 11);

test("prompt/completion rows: only completion tokens (and the EOS) are targets", () => {
  const [e] = tokenizeRow(tok, { prompt: "User: 2+3=? Assistant: <think>", completion: "5</think>" }, 512);
  const p = tok.encode("User: 2+3=? Assistant: <think>").length;
  assert.deepEqual([...e.loss], [...Array(p).fill(0), ...Array(e.ids.length - p).fill(1)]);
  assert.equal(tok.decode(e.ids.slice(p)), "5</think>" + tok.eosToken);
  const b = makeBatch([e], 0);
  for (let t = 0; t < b.T; t++) {
    // Position t predicts token t+1: a target only when t+1 is a completion token.
    assert.equal(b.targets[t], t + 1 >= p ? e.ids[t + 1] : -1, `target at ${t}`);
    assert.equal(b.lossMask[t], t + 1 >= p ? 1 : 0);
  }
  assert.equal(b.numTokens, e.ids.length - p);
});

test("chat rows: the trained tokens are exactly the assistant turns the model's template writes", () => {
  const row = { messages: [{ role: "user", content: "two plus two" }, { role: "assistant", content: "four" }, { role: "user", content: "and the cat" }, { role: "assistant", content: "sat" }] };
  const [e] = tokenizeRow(qwenTok, row, 512);
  const trained = e.ids.filter((_, i) => e.loss[i]);
  assert.equal(qwenTok.decode(trained), "four<|im_end|>\nsat<|im_end|>\n");
  assert.equal(qwenTok.decode(e.ids), "<|im_start|>user\ntwo plus two<|im_end|>\n<|im_start|>assistant\nfour<|im_end|>\n<|im_start|>user\nand the cat<|im_end|>\n<|im_start|>assistant\nsat<|im_end|>\n");
  assert.throws(() => tokenizeRow(qwenTok, { messages: [{ role: "user", content: "hi" }] }, 512), SFTDataError);
  assert.throws(() => parseSftJsonl('{"prompt": "x"}\n', "d.jsonl"), (e: Error) => e instanceof SFTDataError && /d\.jsonl:1/.test(e.message));
});

test("chat rows under Qwen3's real template, which drops earlier turns' <think>: one sequence per assistant turn, as inference renders it", () => {
  const qwen3 = readFileSync(new URL("../fixtures/templates/qwen3.jinja", import.meta.url), "utf8");
  const row = { messages: [
    { role: "user", content: "2+2?" }, { role: "assistant", content: "<think>\nadd\n</think>\n\nfour" },
    { role: "user", content: "3+3?" }, { role: "assistant", content: "<think>\nadd again\n</think>\n\nsix" },
  ] };
  const seqs = tokenizeRow(qwenTok, row, 512, qwen3);
  assert.equal(seqs.length, 2);
  const text = (e: (typeof seqs)[number], trained: boolean) => qwenTok.decode(e.ids.filter((_, i) => (e.loss[i] === 1) === trained));
  assert.equal(text(seqs[0], false), "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n");
  assert.equal(text(seqs[0], true), "<think>\nadd\n</think>\n\nfour<|im_end|>\n");
  // the second turn's history is the first turn as the template shows it later: the answer without its reasoning
  assert.equal(text(seqs[1], false), "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\nfour<|im_end|>\n<|im_start|>user\n3+3?<|im_end|>\n<|im_start|>assistant\n");
  assert.equal(text(seqs[1], true), "<think>\nadd again\n</think>\n\nsix<|im_end|>\n");
  // a template that keeps every turn still gives one sequence (the test above)
});

test("prompt tokens carry no gradient: any labels on prompt positions leave loss and grads unchanged", () => {
  const model = micro();
  const rows = traceRows(3).flatMap(r => tokenizeRow(tok, r, 128));
  const b = makeBatch(rows, tok.padId!);
  model.flatGrads.fill(0);
  const loss = sftLoss(model, b, true);
  const grads = model.flatGrads.slice();
  // Give every prompt position its true next-token label: a loss without the mask would now train on them.
  const labelled = { ...b, targets: b.targets.slice() };
  rows.forEach((e, r) => { for (let t = 0; t < e.ids.length - 1; t++) if (!b.lossMask[r * b.T + t]) labelled.targets[r * b.T + t] = e.ids[t + 1]; });
  assert.ok(labelled.targets.some((x, i) => x !== b.targets[i]));
  model.flatGrads.fill(0);
  assert.equal(sftLoss(model, labelled, true), loss);
  assert.deepEqual(model.flatGrads, grads);
  assert.ok(grads.some(g => g !== 0));
});

test("the SFT loss is the mean NLL of completion tokens, checked against the KV-cache decode path", () => {
  const model = micro();
  const rows = traceRows(2).flatMap(r => tokenizeRow(tok, r, 128));
  const loss = sftLoss(model, makeBatch(rows, tok.padId!), false);
  let sum = 0, n = 0;
  for (const e of rows) {
    const cache = model.newCache(1, e.ids.length);
    for (let t = 0; t < e.ids.length - 1; t++) {
      const logits = model.decode(cache, Int32Array.of(e.ids[t]), Uint8Array.of(1), 1);
      if (!e.loss[t + 1]) continue;
      const max = Math.max(...logits);
      const lse = max + Math.log(logits.reduce((s, x) => s + Math.exp(x - max), 0));
      sum -= logits[e.ids[t + 1]] - lse;
      n++;
    }
  }
  assert.ok(Math.abs(loss - sum / n) < 1e-4, `batched ${loss} vs decode ${sum / n}`);
});

test("batching never mixes examples: each row's log-probs equal those of the example alone (Qwen2, right padding)", () => {
  const model = tinyModel(getBackend("auto"));
  const rows = ["The cat sat on the mat.", "Two plus two is four. The dog sat on the log.", "The dog"].flatMap(t =>
    tokenizeRow(qwenTok, { prompt: "The", completion: t }, 128));
  const b = makeBatch(rows, qwenTok.padId!);
  const together = model.forward(b.tokens, b.mask, b.targets, b.B, b.T).logp.slice();
  rows.forEach((e, r) => {
    const one = makeBatch([e], qwenTok.padId!);
    const alone = model.forward(one.tokens, one.mask, one.targets, 1, one.T).logp;
    for (let t = 0; t < one.T; t++) assert.ok(Math.abs(alone[t] - together[r * b.T + t]) < 1e-5, `row ${r} position ${t}`);
  });
});

test("length-grouped epochs: every example once, batches of near-equal length, less padding than random batches", () => {
  const lengths = Array.from({ length: 400 }, (_, i) => 5 + ((i * 7919) % 97));
  const padding = (batches: number[][]) => batches.reduce((s, bt) => s + bt.length * Math.max(...bt.map(i => lengths[i])) - bt.reduce((a, i) => a + lengths[i], 0), 0);
  const grouped = epochBatches(lengths, 8, 1, 0, true), plain = epochBatches(lengths, 8, 1, 0, false);
  for (const bs of [grouped, plain]) assert.deepEqual(bs.flat().sort((a, b) => a - b), lengths.map((_, i) => i));
  assert.ok(padding(grouped) * 5 < padding(plain), `grouped padding ${padding(grouped)} vs random ${padding(plain)}`);
  assert.deepEqual(epochBatches(lengths, 8, 1, 0, true), grouped, "an epoch's order is a function of (seed, epoch)");
  assert.notDeepEqual(epochBatches(lengths, 8, 1, 1, true), grouped);
});

test("generated cold-start traces: correct R1-format derivations, never a held-out problem, one data source per recipe", () => {
  const cfg = TracesConfigSchema.parse({ task: { type: "arithmetic", min_terms: 2, max_terms: 4 }, n: 300, eval_size: 200 });
  const rows = arithmeticTraces(cfg) as { prompt: string; completion: string; answer: string }[];
  assert.equal(new Set(rows.map(r => r.prompt)).size, 300);
  const heldOut = new Set(distinctExamples(makeTask(cfg.task), 2, 200).map(e => e.question));
  for (const r of rows) {
    const q = /^User: (.*=\?) Reason in/.exec(r.prompt)![1];
    assert.ok(!heldOut.has(q), `${q} is held out`);
    // Every step of the derivation is a chain whose value is the answer (evaluated here, left to right).
    const [thought, answer] = /^(.*)<\/think><answer>(.*)<\/answer>$/.exec(r.completion)!.slice(1);
    for (const step of thought.split(" = ")) assert.equal(String(step.match(/[+-]?\d+/g)!.reduce((a, t) => a + Number(t), 0)), answer);
    assert.ok(!thought.split(" = ").slice(1).some(s => heldOut.has(`${s}=?`)), "no step is a held-out problem");
    assert.ok(r.prompt.endsWith("Assistant: <think>"));
  }
  const base = { model: "m", traces: { task: { type: "arithmetic" } } };
  assert.ok(SFTConfigSchema.safeParse(base).success);
  assert.ok(!SFTConfigSchema.safeParse({ ...base, train_file: "x.jsonl" }).success);
  assert.ok(!SFTConfigSchema.safeParse({ model: "m" }).success);
  assert.ok(!SFTConfigSchema.safeParse({ ...base, learnig_rate: 1 }).success, "typos are caught");
});
