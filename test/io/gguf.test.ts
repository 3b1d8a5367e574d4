import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufInfo, readGgufTensor, writeGguf, type GgufValue } from "../../src/model/io/gguf.js";
import { exportGguf, exportModelGguf, ggufTensorName, permuteRopeRows } from "../../src/model/io/gguf-export.js";
import { GgufExportError, GgufFormatError } from "../../src/model/io/errors.js";
import { headDim } from "../../src/model/config.js";
import { EOS, TOKENIZER_SIZE, tinyConfigs, tinyTokenizerJson, writeTinyFolder } from "./tiny-folder.js";

const root = mkdtempSync(join(tmpdir(), "m37-gguf-"));
test.after(() => rmSync(root, { recursive: true, force: true }));

test("container: header bytes per spec, every value type and tensor layout round-trips", async () => {
  const kv: [string, GgufValue][] = [
    ["general.architecture", { type: "string", value: "llama" }],
    ["a.u8", { type: "u8", value: 200 }], ["a.i8", { type: "i8", value: -5 }], ["a.u16", { type: "u16", value: 60000 }],
    ["a.i16", { type: "i16", value: -300 }], ["a.u32", { type: "u32", value: 4e9 }], ["a.i32", { type: "i32", value: -7 }],
    ["a.f32", { type: "f32", value: 1.5 }], ["a.bool", { type: "bool", value: true }], ["a.u64", { type: "u64", value: 2n ** 40n }],
    ["a.i64", { type: "i64", value: -(2n ** 40n) }], ["a.f64", { type: "f64", value: 0.1 }],
    ["a.arr", { type: "array", itemType: "string", value: ["x", "ĠyΩ", ""] }], ["a.ints", { type: "array", itemType: "i32", value: [1, -2, 3] }],
  ];
  const w = new Float32Array([1, 2, 3, 4, 5, 6]);
  const b = new Float32Array([0.5, -0.25, 1 / 3]);
  const path = join(root, "c.gguf");
  writeGguf(path, kv, [{ name: "w", shape: [2, 3], type: "F32", data: w }, { name: "b", shape: [3], type: "F16", data: b }]);
  const bytes = readFileSync(path);
  assert.equal(bytes.toString("latin1", 0, 4), "GGUF");
  assert.equal(bytes.readUInt32LE(4), 3);
  assert.equal(bytes.readBigUInt64LE(8), 2n);
  assert.equal(bytes.readBigUInt64LE(16), BigInt(kv.length));
  assert.equal(bytes.readBigUInt64LE(24), BigInt("general.architecture".length));

  const info = readGgufInfo(path);
  assert.equal(info.dataStart % 32, 0);
  for (const [k, v] of kv) {
    const got = info.kv.get(k)!;
    assert.equal(got.type, v.type, k);
    if (v.type === "u64" || v.type === "i64") assert.equal(got.value, v.value, k);
    else if (v.type === "f32") assert.equal(got.value, Math.fround(v.value as number));
    else assert.deepEqual(got.value, v.value, k);
  }
  assert.deepEqual(info.tensors.map(t => [t.name, t.ne, t.type, t.offset]), [["w", [3, 2], 0, 0], ["b", [3], 1, 32]]);
  assert.deepEqual(readGgufTensor(path, info, "w"), w);
  assert.deepEqual([...readGgufTensor(path, info, "b")], [0.5, -0.25, 0.333251953125]);
  assert.equal(bytes.length, info.dataStart + 32 + 32, "each tensor padded to 32 bytes");

  writeFileSync(join(root, "bad.gguf"), bytes.subarray(0, 100));
  assert.throws(() => readGgufInfo(join(root, "bad.gguf")), GgufFormatError);
  writeFileSync(join(root, "bad.gguf"), Buffer.concat([Buffer.from("GGML"), bytes.subarray(4)]));
  assert.throws(() => readGgufInfo(join(root, "bad.gguf")), /magic/);
});

test("llama Q/K permutation: row 2i of each head ← row i, row 2i+1 ← row i + hd/2", () => {
  // 2 heads of hd 4, 1 column: rows [0..7] → per head [0,2,1,3]
  assert.deepEqual([...permuteRopeRows(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), 2, 1)], [0, 2, 1, 3, 4, 6, 5, 7]);
  const w = Float32Array.from({ length: 8 * 3 }, (_, i) => i);
  assert.deepEqual([...permuteRopeRows(w, 1, 3).subarray(3, 6)], [12, 13, 14], "row 1 ← row hd/2 = 4, whole row moves");
});

for (const arch of ["llama", "qwen2"] as const) {
  test(`${arch} export: names, ne, types, permutation and tokenizer metadata`, async () => {
    const config = tinyConfigs[arch];
    const dir = join(root, arch);
    const model = writeTinyFolder(dir, config, 5, arch === "qwen2" ? "qwen2" : "gpt2");
    const out = join(root, `${arch}.gguf`);
    exportGguf(dir, out, "f16");
    // exporting the in-memory model with the folder's tokenizer gives the same bytes as exporting the folder
    exportModelGguf(model, dir, join(root, `${arch}-mem.gguf`), "f16");
    assert.ok(readFileSync(out).equals(readFileSync(join(root, `${arch}-mem.gguf`))), "in-memory export = folder export");
    const info = readGgufInfo(out);
    const s = (k: string) => info.kv.get(k)!;
    assert.deepEqual(s("general.architecture"), { type: "string", value: arch });
    for (const k of ["context_length", "embedding_length", "block_count", "feed_forward_length", "attention.head_count", "attention.head_count_kv", "rope.dimension_count"]) {
      assert.equal(s(`${arch}.${k}`).type, "u32", k);
    }
    assert.equal(s(`${arch}.rope.dimension_count`).value, headDim(config));
    assert.equal(s(`${arch}.attention.layer_norm_rms_epsilon`).value, Math.fround(config.rms_norm_eps));
    assert.equal(s(`${arch}.rope.freq_base`).type, "f32");
    const tokens = s("tokenizer.ggml.tokens").value as string[];
    const types = s("tokenizer.ggml.token_type").value as number[];
    assert.equal(tokens.length, config.vocab_size);
    assert.equal(tokens[TOKENIZER_SIZE - 1], EOS);
    assert.equal(types[TOKENIZER_SIZE - 1], 3, "special token is control");
    assert.equal(types[0], 1);
    assert.equal(s("tokenizer.ggml.pre").value, arch === "qwen2" ? "qwen2" : "gpt-2");
    assert.equal(s("tokenizer.ggml.eos_token_id").value, TOKENIZER_SIZE - 1);
    assert.deepEqual((s("tokenizer.ggml.merges").value as string[]).slice(0, 2), ["Ġ t", "h e"]);
    if (config.vocab_size > TOKENIZER_SIZE) {
      assert.equal(tokens[TOKENIZER_SIZE], `[PAD${TOKENIZER_SIZE}]`);
      assert.equal(types[TOKENIZER_SIZE], 5);
    }
    // tensors: HF shape reversed; 2-D F16, 1-D F32; tied → no output.weight
    assert.equal(info.tensors.length, model.params.length);
    assert.equal(info.tensors.some(t => t.name === "output.weight"), !config.tie_word_embeddings);
    const hd = headDim(config);
    for (const p of model.params) {
      const t = info.tensors.find(x => x.name === ggufTensorName(p.name))!;
      assert.deepEqual(t.ne, [...p.shape].reverse(), p.name);
      assert.equal(t.type, p.shape.length === 2 ? 1 : 0, p.name);
      const got = readGgufTensor(out, info, t.name);
      const heads = /q_proj/.test(p.name) ? config.num_attention_heads : /k_proj/.test(p.name) ? config.num_key_value_heads : 0;
      const cols = p.shape.length === 2 ? p.shape[1] : 1;
      const permuted = arch === "llama" && heads > 0;
      for (let r = 0; r < p.data.length / cols; r++) {
        // independent statement of the permutation: GGUF row r of head h holds HF row h·hd + (r even ? r/2 : hd/2 + (r−1)/2)
        const h = Math.floor(r / hd), i = r % hd;
        const src = permuted ? h * hd + (i % 2 === 0 ? i / 2 : hd / 2 + (i - 1) / 2) : r;
        for (let c = 0; c < cols; c++) {
          const want = p.data[src * cols + c], have = got[r * cols + c];
          assert.ok(Math.abs(want - have) <= Math.abs(want) * 2 ** -11 + 2 ** -24, `${p.name}[${r},${c}]`);
        }
      }
    }
    // node-llama-cpp's own GGUF parser reads the file (an independent implementation of the format)
    const nlc = await import("node-llama-cpp").catch(() => null);
    if (nlc) {
      const theirs = await nlc.readGgufFileInfo(out, { readTensorInfo: true, logWarnings: false });
      assert.equal(theirs.version, 3);
      assert.equal(theirs.tensorInfo!.length, info.tensors.length);
      assert.equal((theirs.metadata as any)[arch].embedding_length, config.hidden_size);
      assert.deepEqual(theirs.tensorInfo!.map(t => [t.name, t.dimensions.map(Number), t.offset]), info.tensors.map(t => [t.name, t.ne, t.offset]));
    }
  });
}

test("export refuses what llama.cpp would mis-read: no tokenizer.json, a missing byte symbol, an unknown dtype", () => {
  const dir = join(root, "bad");
  writeTinyFolder(dir, tinyConfigs.llama, 1, "gpt2");
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tinyTokenizerJson("gpt2", 10)));
  assert.throws(() => exportGguf(dir, join(root, "x.gguf")), (e: Error) => e instanceof GgufExportError && /lacks 1 of the 256 byte-level symbols/.test(e.message));
  // a SentencePiece-style tokenizer.json (Gemma's, Llama 2's: byte_fallback, Metaspace) needs its tokenizer.model
  const spm = tinyTokenizerJson("gpt2");
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify({ ...spm, model: { ...spm.model, byte_fallback: true }, pre_tokenizer: null, decoder: { type: "Sequence", decoders: [{ type: "Replace", pattern: { String: "▁" }, content: " " }, { type: "ByteFallback" }] } }));
  assert.throws(() => exportGguf(dir, join(root, "x.gguf")), (e: Error) => e instanceof GgufExportError && /SentencePiece-style tokenizer .*no tokenizer\.model/.test(e.message));
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify({ ...spm, pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: false } }));
  assert.throws(() => exportGguf(dir, join(root, "x.gguf")), /SentencePiece-style tokenizer .*no tokenizer\.model/);
  rmSync(join(dir, "tokenizer.json"));
  assert.throws(() => exportGguf(dir, join(root, "x.gguf")), (e: Error) => e instanceof GgufExportError && /no tokenizer\.json/.test(e.message));
  assert.throws(() => exportGguf(dir, join(root, "x.gguf"), "q8" as never), /q8 is not supported/);
});

test("add_bos_token: tokenizer_config.json's flag, else the post-processor's leading special token (Llama 3's TemplateProcessing)", () => {
  const dir = join(root, "bos");
  writeTinyFolder(dir, tinyConfigs.llama, 1, "gpt2");
  const flags = () => { exportGguf(dir, join(root, "bos.gguf")); const kv = readGgufInfo(join(root, "bos.gguf")).kv; return [kv.get("tokenizer.ggml.add_bos_token")?.value, kv.get("tokenizer.ggml.add_eos_token")?.value]; };
  const tj = tinyTokenizerJson("gpt2");
  const writeTok = (post: unknown, cfg: Record<string, unknown>) => {
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify({ ...tj, post_processor: post }));
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ eos_token: EOS, ...cfg }));
  };
  const llama3Post = { type: "Sequence", processors: [{ type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true }, {
    type: "TemplateProcessing", single: [{ SpecialToken: { id: EOS, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
    pair: [], special_tokens: { [EOS]: { id: EOS, ids: [TOKENIZER_SIZE - 1], tokens: [EOS] } } }] };
  writeTok(tj.post_processor, {});
  assert.deepEqual(flags(), [false, undefined]);
  writeTok(llama3Post, {});
  assert.deepEqual(flags(), [true, undefined], "BOS (= <|endoftext|> here, config bos_token_id) leads the template");
  writeTok(llama3Post, { add_bos_token: false, add_eos_token: true });
  assert.deepEqual(flags(), [false, true], "tokenizer_config.json's flags win");
});

test("the chat template reaches the GGUF from tokenizer_config.json, or from chat_template.jinja when the JSON has none", () => {
  const dir = join(root, "tpl");
  writeTinyFolder(dir, tinyConfigs.qwen2, 1, "qwen2");
  const template = () => { exportGguf(dir, join(root, "tpl.gguf")); return readGgufInfo(join(root, "tpl.gguf")).kv.get("tokenizer.chat_template")?.value; };
  assert.equal(template(), undefined);
  writeFileSync(join(dir, "chat_template.jinja"), "{{ messages[0].content }}");
  assert.equal(template(), "{{ messages[0].content }}");
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ eos_token: EOS, chat_template: [{ name: "tool_use", template: "T" }, { name: "default", template: "D" }] }));
  assert.equal(template(), "D", "the list form gives its default template");
});
