// `move37 export MODEL_DIR --format gguf --dtype f32|f16 --out FILE`: a Hugging Face folder to a llama.cpp GGUF file.
// `--merge`: a LoRA adapter folder (PEFT's format) is merged into its base first (W + s·B·A); `--format hf` writes the
// merged Hugging Face folder itself (--out is then a folder).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Option, type Command } from "commander";
import { exportGguf, type GgufDtype } from "../model/io/gguf-export.js";
import { withExamples } from "./help.js";
import { output } from "./output.js";
import { resolveModelPath } from "../hub/resolve.js";
import { isAdapterFolder, mergeAdapterFolder } from "../train/lora.js";

export class AdapterNeedsMergeError extends Error {
  constructor(dir: string) {
    super(`${dir} is a LoRA adapter folder (adapter_config.json): add --merge to fold it into its base first`);
    this.name = "AdapterNeedsMergeError";
  }
}

export function register(program: Command): void {
  const cmd = program
    .command("export")
    .description("convert a model folder (config.json, safetensors, tokenizer.json; Llama or Qwen2) to a GGUF file that llama.cpp, Ollama and LM Studio load; --merge folds a LoRA adapter into its base")
    .argument("<model_dir>", "Hugging Face model folder, e.g. a checkpoint of a run, a LoRA adapter folder (with --merge), or a hub id (owner/name)")
    .addOption(new Option("--format <format>", "output format: gguf, or hf (a Hugging Face folder; with --merge)").choices(["gguf", "hf"]).default("gguf"))
    .addOption(new Option("--dtype <dtype>", "weight precision: f32 (exact) or f16 (half the size; norms and biases stay f32)").choices(["f32", "f16"]).default("f32"))
    .option("--merge", "merge a LoRA adapter folder (PEFT's adapter_config.json + adapter_model.safetensors) into its base first", false)
    .requiredOption("--out <path>", "GGUF file to write (written to a temp file, then renamed), or the folder for --format hf")
    .action((dir: string, opts: { format: "gguf" | "hf"; dtype: GgufDtype; out: string; merge: boolean }) => {
      const t0 = Date.now();
      let src = resolveModelPath(dir); // a hub id → its cached snapshot
      const adapter = isAdapterFolder(src);
      if (adapter && !opts.merge) throw new AdapterNeedsMergeError(dir);
      if (opts.format === "hf") {
        if (!adapter) throw new Error(`--format hf writes a merged adapter: ${dir} is not a LoRA adapter folder (no adapter_config.json)`);
        const r = mergeAdapterFolder(src, opts.out);
        output.out(`wrote ${opts.out}: ${r.base} with ${r.adapters} LoRA adapters merged (r ${r.r}) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
        return;
      }
      const tmp = adapter ? mkdtempSync(join(tmpdir(), "move37-merge-")) : null;
      try {
        if (tmp) { mergeAdapterFolder(src, join(tmp, "merged")); src = join(tmp, "merged"); }
        const r = exportGguf(src, opts.out, opts.dtype);
        for (const w of r.warnings) output.err(`warning: ${w}\n`);
        output.out(`wrote ${r.path}: ${r.architecture}, ${r.tensors} tensors, ${opts.dtype}, ${(r.bytes / 1e6).toFixed(1)} MB${tmp ? ", LoRA merged" : ""} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      } finally {
        if (tmp) rmSync(tmp, { recursive: true, force: true });
      }
    });
  withExamples(cmd, [
    "move37 export runs/r1-zero-tiny-20250101-120000/checkpoints/final --format gguf --dtype f16 --out tiny.gguf",
    "move37 export runs/grpo-lora/adapter --merge --format hf --out merged/",
    "move37 export runs/grpo-lora/adapter --merge --out merged.gguf",
    "llama-cli -m tiny.gguf -p 'A conversation between User and Assistant.'",
  ]);
}
