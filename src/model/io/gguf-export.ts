// Hugging Face folder (Llama, Qwen2, Qwen3, Gemma 3, SmolLM3; safetensors + tokenizer.json) → GGUF v3 for llama.cpp,
// F32, F16, BF16 or Q8_0. Key types, tensor names and per-architecture transforms are those of llama.cpp's own converter
// (convert_hf_to_gguf.py: LlamaModel, Qwen2Model, Qwen3Model, Gemma3Model, SmolLM3Model) and of the loader in the
// llama.cpp that node-llama-cpp 3.22 ships (src/models/{llama,qwen3,gemma3,smollm3}.cpp); see docs/io.md.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { attnScale, defaultNoRopeLayers, headDim, hiddenAct, isGemma, layerType, type ModelConfig } from "../config.js";
import { BYTE_TO_UNICODE } from "../../tokenizer/byte-unicode.js";
import { readTokenizerConfig } from "../../tokenizer/load.js";
import { GgufExportError } from "./errors.js";
import { readSentencePieceModel, spmVocab } from "./gguf-spm.js";
import { paramSpecs } from "../params.js";
import type { CausalLM } from "../types.js";
import { closeWeights, openCheckedWeights, readHfConfig } from "./hf.js";
import { Q8_0_BLOCK, writeGguf, type GgmlType, type GgufTensor, type GgufValue, type TensorSource } from "./gguf.js";

export type GgufDtype = "f32" | "f16" | "bf16" | "q8_0";
export const GGUF_DTYPES: readonly GgufDtype[] = ["f32", "f16", "bf16", "q8_0"];

/** general.file_type (llama.h's llama_ftype): ALL_F32, MOSTLY_F16, MOSTLY_Q8_0, MOSTLY_BF16. */
const FILE_TYPE: Record<GgufDtype, number> = { f32: 0, f16: 1, q8_0: 7, bf16: 32 };

/**
 * The ggml type of one tensor in a `dtype` export, as llama.cpp's converter chooses it: 1-D tensors (norms, biases,
 * rope_freqs) stay F32; a 2-D tensor takes the dtype, except that Q8_0 needs rows that are a multiple of 32 values
 * (its block) and falls back to F16 otherwise, as convert_hf_to_gguf does when gguf-py cannot quantize a shape.
 */
export function ggmlTypeFor(dtype: GgufDtype, shape: readonly number[]): GgmlType {
  if (shape.length < 2 || dtype === "f32") return "F32";
  if (dtype === "q8_0") return shape[shape.length - 1] % Q8_0_BLOCK === 0 ? "Q8_0" : "F16";
  return dtype === "bf16" ? "BF16" : "F16";
}

/** llama.cpp token types. */
const TOKEN_TYPE = { normal: 1, control: 3, userDefined: 4, unused: 5 } as const;

/**
 * Llama's HF checkpoints rotate dims (i, i + hd/2) (rotate_half); llama.cpp's `llama` arch rotates adjacent pairs
 * (2i, 2i+1). Reordering each head's output rows as new 2i ← old i, new 2i+1 ← old i + hd/2 makes the two agree
 * (convert_hf_to_gguf's LlamaModel.permute). `cols` = 1 for a bias.
 */
export function permuteRopeRows(w: Float32Array, heads: number, cols: number): Float32Array {
  const rows = w.length / cols, hd = rows / heads, half = hd / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      out.set(w.subarray((h * hd + i) * cols, (h * hd + i + 1) * cols), (h * hd + 2 * i) * cols);
      out.set(w.subarray((h * hd + half + i) * cols, (h * hd + half + i + 1) * cols), (h * hd + 2 * i + 1) * cols);
    }
  }
  return out;
}

/** HF parameter name → GGUF tensor name; Gemma 3's four norms per layer have their own names. */
export function ggufTensorName(hf: string, architecture: ModelConfig["architecture"] = "llama"): string {
  const fixed: Record<string, string> = { "model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight" };
  if (fixed[hf]) return fixed[hf];
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(hf);
  const parts: Record<string, string> = {
    input_layernorm: "attn_norm", post_attention_layernorm: "ffn_norm",
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
    "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
    "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
    ...(architecture === "gemma3" ? {
      post_attention_layernorm: "post_attention_norm", pre_feedforward_layernorm: "ffn_norm", post_feedforward_layernorm: "post_ffw_norm",
    } : {}),
  };
  if (!m || !parts[m[2]]) throw new GgufExportError(`no GGUF name for parameter ${hf} of a ${architecture} model`);
  return `blk.${m[1]}.${parts[m[2]]}.${m[3]}`;
}

/** llama.cpp rotates adjacent pairs for these architectures (LLAMA_ROPE_TYPE_NORM), so HF's Q/K rows are permuted. */
const NORM_ROPE = new Set<ModelConfig["architecture"]>(["llama", "smollm3"]);

/**
 * Per-dimension-pair RoPE frequency divisors of Llama 3's scaling (`rope_freqs.weight`, [head_dim/2]), as
 * convert_hf_to_gguf's LlamaModel.generate_extra_tensors computes them: llama.cpp divides pair i's frequency by
 * factor i, which is transformers' `_compute_llama3_parameters` written as a ratio.
 */
export function llama3RopeFactors(c: ModelConfig): Float32Array {
  const r = c.rope_scaling;
  if (r?.rope_type !== "llama3") throw new GgufExportError("rope_freqs is only written for rope_type llama3");
  const hd = headDim(c), lowWave = r.original_max_position_embeddings / r.low_freq_factor, highWave = r.original_max_position_embeddings / r.high_freq_factor;
  return Float32Array.from({ length: hd / 2 }, (_, i) => {
    const freq = 1 / c.rope_theta ** ((2 * i) / hd), wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWave) return 1;
    if (wavelen > lowWave) return r.factor;
    const smooth = (r.original_max_position_embeddings / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
    return 1 / ((1 - smooth) / r.factor + smooth);
  });
}

/**
 * llama.cpp's Gemma 3 attention scale is fixed by shape (1/√head_dim; 1/√(hidden/heads) for its 62-layer 27B), not
 * read from the file. A query_pre_attn_scalar that differs is folded into q_norm's weight: the scale multiplies q
 * after the norm and RoPE, both linear in the weight, so scaling the weight is the same product.
 */
export function gemmaQueryScaleFold(c: ModelConfig): number {
  const llamaCpp = c.num_hidden_layers === 62 ? 1 / Math.sqrt(c.hidden_size / c.num_attention_heads) : 1 / Math.sqrt(headDim(c));
  return attnScale(c) / llamaCpp;
}

/** Refuses, by the config key, what the GGUF architecture cannot express in llama.cpp. */
export function checkGgufExpressible(c: ModelConfig): void {
  const refuse = (detail: string): never => { throw new GgufExportError(`${detail}; llama.cpp's ${c.architecture} architecture cannot express it, so the export would compute something else`); };
  const act = hiddenAct(c), want = isGemma(c) ? "gelu_pytorch_tanh" : "silu";
  if (act !== want) refuse(`hidden_act is ${act} (llama.cpp's ${c.architecture} uses ${want})`);
  const rs = c.rope_scaling ?? null;
  if (rs?.rope_type === "llama3" && c.architecture !== "llama") refuse("rope_scaling.rope_type is llama3 (only llama.cpp's llama architecture reads rope_freqs)");
  if (c.architecture === "gemma3" && c.attn_logit_softcapping != null) refuse(`attn_logit_softcapping is ${c.attn_logit_softcapping} (llama.cpp's gemma3 has no attention soft-capping)`);
  if (c.architecture === "smollm3") {
    const want = defaultNoRopeLayers(c.num_hidden_layers, 4);
    const got = c.no_rope_layers ?? want;
    if (got.some((v, i) => v !== want[i])) refuse(`no_rope_layers is [${got}] (llama.cpp's smollm3 drops RoPE on every 4th layer only: [${want}])`);
  }
}

/**
 * GGUF tensors for HF-named parameters, produced lazily as the writer reaches them, plus Llama 3's `rope_freqs`.
 * 1-D tensors (norms, biases) stay F32, as llama.cpp's converter keeps them; 2-D ones take ggmlTypeFor(dtype). Transforms: Q/K rows permuted for
 * NORM-rope architectures; Gemma 3's (1 + w) norms stored as 1 + w (the converter's norm_shift), its q_norm
 * also carrying gemmaQueryScaleFold.
 */
export function ggufTensors(config: ModelConfig, params: readonly { name: string; shape: number[]; data: TensorSource }[], dtype: GgufDtype): GgufTensor[] {
  checkGgufExpressible(config);
  const nh = config.num_attention_heads, nkv = config.num_key_value_heads, arch = config.architecture;
  const permute = NORM_ROPE.has(arch), gemma = isGemma(config), qFold = gemma ? gemmaQueryScaleFold(config) : 1;
  const tensors: GgufTensor[] = [];
  if (config.rope_scaling?.rope_type === "llama3") {
    tensors.push({ name: "rope_freqs.weight", shape: [headDim(config) / 2], type: "F32", data: llama3RopeFactors(config) });
  }
  for (const p of params) {
    const load = () => (typeof p.data === "function" ? p.data() : p.data);
    const cols = p.shape.length === 2 ? p.shape[1] : 1;
    const heads = !permute ? 0 : /self_attn\.q_proj\./.test(p.name) ? nh : /self_attn\.k_proj\./.test(p.name) ? nkv : 0;
    const shiftNorm = gemma && /norm\.weight$/.test(p.name);
    const scale = shiftNorm && /self_attn\.q_norm\./.test(p.name) ? qFold : 1;
    let data: TensorSource = p.data;
    if (heads) data = () => permuteRopeRows(load(), heads, cols);
    else if (shiftNorm) data = () => Float32Array.from(load(), w => (1 + w) * scale);
    tensors.push({ name: ggufTensorName(p.name, arch), shape: p.shape, type: ggmlTypeFor(dtype, p.shape), data });
  }
  return tensors;
}

interface TokenizerJsonShape {
  model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[] };
  added_tokens?: { id: number; content: string; special?: boolean }[];
  pre_tokenizer?: unknown;
  post_processor?: unknown;
}

/** llama.cpp pre-tokenizer names for the split regexes of known tokenizer.json files. */
const PRE_BY_REGEX: Record<string, string> = {
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": "qwen2",
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": "llama-bpe",
};

/**
 * The llama.cpp pre-tokenizer matching tokenizer.json's: a Split with Qwen2's or Llama 3's regex, or a bare
 * ByteLevel with GPT-2's built-in regex. Anything else gets "default" and a warning (tokenization may differ).
 */
function preTokenizerName(pre: unknown, warnings: string[]): string {
  const steps = (p: any): any[] => (p?.type === "Sequence" ? p.pretokenizers ?? [] : p ? [p] : []);
  const list = steps(pre);
  const split = list.find(s => s.type === "Split");
  const regex = split?.pattern?.Regex;
  if (typeof regex === "string" && PRE_BY_REGEX[regex]) return PRE_BY_REGEX[regex];
  if (!split && list.length === 1 && list[0].type === "ByteLevel" && list[0].use_regex !== false) return "gpt-2";
  warnings.push(`tokenizer.json's pre_tokenizer is not one llama.cpp knows by name; wrote tokenizer.ggml.pre = "default", so llama.cpp may split text differently`);
  return "default";
}

/** Whether tokenizer.json's post-processor (TemplateProcessing, alone or in a Sequence) adds BOS first / EOS last to a single text. */
function addedBySpecials(post: unknown, bos: string | undefined, eos: string | undefined): { bos: boolean; eos: boolean } {
  const procs = ((post as { type?: string; processors?: unknown[] } | null)?.type === "Sequence" ? (post as { processors: unknown[] }).processors : [post]) as { type?: string; single?: { SpecialToken?: { id?: string } }[] }[];
  const out = { bos: false, eos: false };
  for (const p of procs) {
    if (p?.type !== "TemplateProcessing" || !Array.isArray(p.single) || p.single.length < 2) continue;
    const first = p.single[0]?.SpecialToken?.id, last = p.single[p.single.length - 1]?.SpecialToken?.id;
    if (first !== undefined && first === bos) out.bos = true;
    if (last !== undefined && last === eos) out.eos = true;
  }
  return out;
}

/**
 * Tokenizer metadata from a Hugging Face folder: a byte-level BPE tokenizer.json → `gpt2`; a SentencePiece-style
 * one (byte_fallback / Metaspace: Gemma's, Llama 2's) → `llama` (SPM) from the folder's tokenizer.model.
 */
export function ggufTokenizerKv(dir: string, config: ModelConfig, warnings: string[]): [string, GgufValue][] {
  const path = join(dir, "tokenizer.json");
  if (!existsSync(path)) throw new GgufExportError(`${dir} has no tokenizer.json; llama.cpp needs the vocabulary inside the GGUF file`);
  const tj = JSON.parse(readFileSync(path, "utf8")) as TokenizerJsonShape;
  const model = tj.model;
  const spm = (model as { byte_fallback?: boolean } | undefined)?.byte_fallback === true || JSON.stringify([tj.pre_tokenizer, (tj as { decoder?: unknown }).decoder]).includes('"Metaspace"');
  if (spm) {
    const spPath = join(dir, "tokenizer.model");
    if (!existsSync(spPath)) {
      throw new GgufExportError(`${path}: a SentencePiece-style tokenizer (byte_fallback or Metaspace, as Gemma's and Llama 2's are) and no tokenizer.model beside it; copy the model's tokenizer.model into ${dir} (llama.cpp's vocabulary comes from its pieces and scores)`);
    }
    return sentencePieceKv(dir, spPath, tj, config);
  }
  if (model?.type !== "BPE" || !model.vocab || !model.merges) {
    throw new GgufExportError(`${path}: model.type is ${JSON.stringify(model?.type)}; only byte-level BPE tokenizers (vocab + merges) and SentencePiece models are exported`);
  }
  const V = config.vocab_size;
  const tokens: (string | undefined)[] = new Array(V);
  const types = new Array<number>(V).fill(TOKEN_TYPE.normal);
  const place = (content: string, id: number) => {
    if (!Number.isInteger(id) || id < 0 || id >= V) throw new GgufExportError(`${path}: token ${JSON.stringify(content)} has id ${id}, outside the model's vocab_size ${V}`);
    if (tokens[id] !== undefined && tokens[id] !== content) throw new GgufExportError(`${path}: id ${id} is both ${JSON.stringify(tokens[id])} and ${JSON.stringify(content)}`);
    tokens[id] = content;
  };
  for (const [content, id] of Object.entries(model.vocab)) place(content, id);
  for (const t of tj.added_tokens ?? []) {
    place(t.content, t.id);
    types[t.id] = t.special ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined;
  }
  const known = new Set(tokens);
  const missingBytes = BYTE_TO_UNICODE.filter(c => !known.has(c));
  if (missingBytes.length) {
    throw new GgufExportError(`${path}: the vocab lacks ${missingBytes.length} of the 256 byte-level symbols (e.g. ${JSON.stringify(missingBytes[0])}); llama.cpp would silently drop those bytes`);
  }
  // ids the tokenizer does not use (an embedding padded past the vocab) become unused filler, as llama.cpp's converter does
  const names = Array.from(tokens, (t, id) => {
    if (t !== undefined) return t;
    types[id] = TOKEN_TYPE.unused;
    return `[PAD${id}]`;
  });
  const merges = model.merges.map(m => (Array.isArray(m) ? m.join(" ") : m));
  return [
    ["tokenizer.ggml.model", { type: "string", value: "gpt2" }],
    ["tokenizer.ggml.pre", { type: "string", value: preTokenizerName(tj.pre_tokenizer, warnings) }],
    ["tokenizer.ggml.tokens", { type: "array", itemType: "string", value: names }],
    ["tokenizer.ggml.token_type", { type: "array", itemType: "i32", value: types }],
    ["tokenizer.ggml.merges", { type: "array", itemType: "string", value: merges }],
    ...specialKv(dir, tj, config, names, false),
  ];
}

/** SentencePiece vocabulary (`tokenizer.ggml.model = llama`) from tokenizer.model, as _set_vocab_sentencepiece writes it. */
function sentencePieceKv(dir: string, spPath: string, tj: TokenizerJsonShape, config: ModelConfig): [string, GgufValue][] {
  const sp = readSentencePieceModel(spPath);
  const tokCfg = readTokenizerConfig(dir) as { added_tokens_decoder?: Record<string, { content: string; special?: boolean }> };
  const added = new Map(Object.entries(tokCfg.added_tokens_decoder ?? {}).map(([id, t]) => [Number(id), { content: t.content, special: t.special === true }]));
  const { tokens, scores, types } = spmVocab(sp, config.vocab_size, added, spPath);
  return [
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.pre", { type: "string", value: "default" }],
    ["tokenizer.ggml.tokens", { type: "array", itemType: "string", value: tokens }],
    ["tokenizer.ggml.scores", { type: "array", itemType: "f32", value: scores }],
    ["tokenizer.ggml.token_type", { type: "array", itemType: "i32", value: types }],
    // Gemma 3's converter turns the space prefix off; otherwise the model's normalizer_spec.add_dummy_prefix says
    ["tokenizer.ggml.add_space_prefix", { type: "bool", value: config.architecture === "gemma3" ? false : sp.addDummyPrefix }],
    ...specialKv(dir, tj, config, tokens, true),
  ];
}

/**
 * Special token ids, add_bos/add_eos and the chat template. bos/eos come from config.json, else tokenizer_config.json;
 * unk/pad ids from tokenizer_config.json (SPM only, as llama.cpp's SPM vocab uses them).
 */
function specialKv(dir: string, tj: TokenizerJsonShape, config: ModelConfig, names: readonly string[], spm: boolean): [string, GgufValue][] {
  const tokCfg = readTokenizerConfig(dir);
  const idOf = (special: unknown) => {
    const s = typeof special === "string" ? special : (special as { content?: string } | null)?.content;
    const id = s === undefined ? -1 : names.indexOf(s);
    return id >= 0 ? id : null;
  };
  const bos = config.bos_token_id ?? idOf(tokCfg.bos_token);
  const eos = config.eos_token_id ?? idOf(tokCfg.eos_token);
  const kv: [string, GgufValue][] = [];
  if (bos !== null) kv.push(["tokenizer.ggml.bos_token_id", { type: "u32", value: bos }]);
  if (eos !== null) kv.push(["tokenizer.ggml.eos_token_id", { type: "u32", value: eos }]);
  if (spm) {
    const unk = idOf((tokCfg as { unk_token?: unknown }).unk_token), pad = idOf(tokCfg.pad_token);
    if (unk !== null) kv.push(["tokenizer.ggml.unknown_token_id", { type: "u32", value: unk }]);
    if (pad !== null) kv.push(["tokenizer.ggml.padding_token_id", { type: "u32", value: pad }]);
  }
  // add_bos/add_eos: tokenizer_config.json's flags, else what tokenizer.json's post-processor adds (Llama 3's
  // TemplateProcessing puts <|begin_of_text|> first), as gguf-py's SpecialVocab reads them
  const added = addedBySpecials(tj.post_processor, names[bos ?? -1], names[eos ?? -1]);
  const flag = (v: unknown, fallback: boolean) => (typeof v === "boolean" ? v : fallback);
  kv.push(["tokenizer.ggml.add_bos_token", { type: "bool", value: flag(tokCfg.add_bos_token, added.bos) }]);
  const addEos = flag((tokCfg as { add_eos_token?: unknown }).add_eos_token, added.eos);
  if (addEos) kv.push(["tokenizer.ggml.add_eos_token", { type: "bool", value: true }]);
  // a list of named templates (tokenizer_config.json's older form) gives its "default" one, as the tokenizer does
  const template = typeof tokCfg.chat_template === "string" ? tokCfg.chat_template
    : tokCfg.chat_template ? (tokCfg.chat_template.find(t => t.name === "default") ?? tokCfg.chat_template[0])?.template : undefined;
  if (template) kv.push(["tokenizer.chat_template", { type: "string", value: template }]);
  return kv;
}

/** Model hyper-parameters under `{arch}.*`, with the keys and types llama.cpp's converter writes and its loader requires. */
export function ggufModelKv(c: ModelConfig, name: string, dtype: GgufDtype): [string, GgufValue][] {
  checkGgufExpressible(c);
  const a = c.architecture;
  const u32 = (value: number): GgufValue => ({ type: "u32", value });
  const f32 = (value: number): GgufValue => ({ type: "f32", value });
  const kv: [string, GgufValue][] = [
    ["general.architecture", { type: "string", value: a }],
    ["general.name", { type: "string", value: name }],
    ["general.file_type", u32(FILE_TYPE[dtype])],
    [`${a}.context_length`, u32(c.max_position_embeddings)],
    [`${a}.embedding_length`, u32(c.hidden_size)],
    [`${a}.block_count`, u32(c.num_hidden_layers)],
    [`${a}.feed_forward_length`, u32(c.intermediate_size)],
    [`${a}.attention.head_count`, u32(c.num_attention_heads)],
    [`${a}.attention.head_count_kv`, u32(c.num_key_value_heads)],
    [`${a}.rope.dimension_count`, u32(headDim(c))],
    [`${a}.rope.freq_base`, f32(c.rope_theta)],
    [`${a}.attention.layer_norm_rms_epsilon`, f32(c.rms_norm_eps)],
  ];
  // an explicit head_dim (Qwen3, Gemma 3, Llama 3.2's config.json): the converter writes key/value lengths
  if (c.head_dim !== undefined) kv.push([`${a}.attention.key_length`, u32(c.head_dim)], [`${a}.attention.value_length`, u32(c.head_dim)]);
  // linear scaling is the loader's rope.scaling keys; llama3 is the rope_freqs tensor (ggufTensors)
  if (c.rope_scaling?.rope_type === "linear") kv.push([`${a}.rope.scaling.type`, { type: "string", value: "linear" }], [`${a}.rope.scaling.factor`, f32(c.rope_scaling.factor)]);
  if (a === "gemma3") {
    const sliding = Array.from({ length: c.num_hidden_layers }, (_, l) => layerType(c, l) === "sliding_attention");
    if (sliding.some(Boolean)) {
      // the per-layer array, which the loader prefers to its built-in 5-sliding-1-full pattern
      kv.push([`${a}.attention.sliding_window`, u32(c.sliding_window!)], [`${a}.attention.sliding_window_pattern`, { type: "array", itemType: "bool", value: sliding }]);
      kv.push([`${a}.rope.freq_base_swa`, f32(c.rope_local_base_freq ?? 10000)]);
    }
    if (c.final_logit_softcapping != null) kv.push([`${a}.final_logit_softcapping`, f32(c.final_logit_softcapping)]);
  }
  return kv;
}

export interface GgufExportResult { path: string; architecture: string; tensors: number; bytes: number; warnings: string[] }

/** Exports the model folder `dir` (config.json, safetensors, tokenizer.json) to the GGUF file `out`, one tensor in memory at a time. */
export function exportGguf(dir: string, out: string, dtype: GgufDtype = "f32", name = "move37"): GgufExportResult {
  checkDtype(dtype);
  const config = readHfConfig(dir);
  const warnings: string[] = [];
  const kv = [...ggufModelKv(config, name, dtype), ...ggufTokenizerKv(dir, config, warnings)];
  const { files, where } = openCheckedWeights(dir, config);
  try {
    const sources = paramSpecs(config).map(s => ({ ...s, data: () => where.get(s.name)!.read(s.name) }));
    const tensors = ggufTensors(config, sources, dtype);
    return { path: out, architecture: config.architecture, tensors: tensors.length, bytes: writeGguf(out, kv, tensors), warnings };
  } finally {
    closeWeights(files);
  }
}

/** Exports an in-memory model, with the tokenizer.json (and tokenizer_config.json) of `tokenizerDir`. */
export function exportModelGguf(model: CausalLM, tokenizerDir: string, out: string, dtype: GgufDtype = "f32", name = "move37"): GgufExportResult {
  checkDtype(dtype);
  const warnings: string[] = [];
  const kv = [...ggufModelKv(model.config, name, dtype), ...ggufTokenizerKv(tokenizerDir, model.config, warnings)];
  const tensors = ggufTensors(model.config, model.params, dtype);
  return { path: out, architecture: model.config.architecture, tensors: tensors.length, bytes: writeGguf(out, kv, tensors), warnings };
}

function checkDtype(dtype: string): void {
  if (!GGUF_DTYPES.includes(dtype as GgufDtype)) throw new GgufExportError(`dtype ${dtype} is not supported (supported: ${GGUF_DTYPES.join(", ")})`);
}
