// `move37 export MODEL --format gguf --dtype f32|f16|bf16|q8_0 --out FILE`: a Hugging Face folder to a llama.cpp GGUF file.
// `move37 export MODEL --format hf --dtype f32|bf16 --out DIR`: a standalone Hugging Face folder (config.json,
// safetensors, tokenizer files) that transformers and any other loader read. MODEL is a model folder, a checkpoint,
// a run directory (its latest checkpoint) or a hub id. `--merge`: a LoRA adapter folder (PEFT's format) is merged into
// its base first (W + s·B·A).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Option, type Command } from "commander";
import { exportGguf, type GgufDtype } from "../model/io/gguf-export.js";
import { loadHfFolder, saveHfFolder } from "../model/io/hf.js";
import { resolvePolicy } from "../eval/problems.js";
import { isAdapterFolder, mergeAdapterFolder } from "../train/lora.js";
import { withExamples } from "./help.js";
import { output } from "./output.js";

type Dtype = "f32" | "f16" | "bf16" | "q8_0";
const DTYPES: Record<"gguf" | "hf", Dtype[]> = { gguf: ["f32", "f16", "bf16", "q8_0"], hf: ["f32", "bf16"] };

export class AdapterNeedsMergeError extends Error {
  constructor(dir: string) {
    super(`${dir} is a LoRA adapter folder (adapter_config.json): add --merge to fold it into its base first`);
    this.name = "AdapterNeedsMergeError";
  }
}

export function register(program: Command): void {
  const cmd = program
    .command("export")
    .description("write a model (a folder, checkpoint, run or hub id; any architecture Move37 loads) as a GGUF file that llama.cpp, Ollama and LM Studio load, or as a standalone Hugging Face folder; --merge folds a LoRA adapter into its base")
    .argument("<model_dir>", "Hugging Face model folder, a checkpoint, a run directory (its latest checkpoint), a LoRA adapter folder (with --merge) or a hub id (owner/name)")
    .addOption(new Option("--format <format>", "output format: gguf (a file) or hf (a folder)").choices(["gguf", "hf"]).default("gguf"))
    .addOption(new Option("--dtype <dtype>", "weight precision: f32 (exact); f16 or bf16 (half the size; for gguf, norms and biases stay f32); q8_0 for gguf (llama.cpp's 8-bit blocks: 32 int8s and an f16 scale, ~0.27 of f32)").choices(["f32", "f16", "bf16", "q8_0"]).default("f32"))
    .option("--merge", "merge a LoRA adapter folder (PEFT's adapter_config.json + adapter_model.safetensors) into its base first", false)
    .requiredOption("--out <path>", "GGUF file or folder to write (written beside it, then renamed into place)")
    .action((dir: string, opts: { format: "gguf" | "hf"; dtype: Dtype; out: string; merge: boolean }) => {
      if (!DTYPES[opts.format].includes(opts.dtype)) throw new Error(`--dtype ${opts.dtype} is not a ${opts.format} dtype: give ${DTYPES[opts.format].join(" or ")}`);
      const t0 = Date.now();
      const seconds = () => ((Date.now() - t0) / 1000).toFixed(1);
      let { modelDir } = resolvePolicy(dir); // a hub id → its cached snapshot; a run → its latest checkpoint's model
      const adapter = isAdapterFolder(modelDir);
      if (adapter && !opts.merge) throw new AdapterNeedsMergeError(dir);
      const tmp = adapter ? mkdtempSync(join(tmpdir(), "move37-merge-")) : null;
      try {
        let merged = "";
        if (tmp) {
          const m = mergeAdapterFolder(modelDir, join(tmp, "merged"));
          modelDir = join(tmp, "merged");
          merged = `, ${m.adapters} LoRA adapters merged (r ${m.r})`;
        }
        if (opts.format === "hf") {
          const { config, tensors } = loadHfFolder(modelDir);
          saveHfFolder(opts.out, config, tensors, { copyFrom: modelDir, dtype: opts.dtype === "bf16" ? "BF16" : "F32" });
          const bytes = tensors.reduce((s, x) => s + x.data.length, 0) * (opts.dtype === "bf16" ? 2 : 4);
          output.out(`wrote ${opts.out}: ${config.architecture}, ${tensors.length} tensors, ${opts.dtype}, ${(bytes / 1e6).toFixed(1)} MB${merged} in ${seconds()} s\n`);
          return;
        }
        const r = exportGguf(modelDir, opts.out, opts.dtype as GgufDtype);
        for (const w of r.warnings) output.err(`warning: ${w}\n`);
        output.out(`wrote ${r.path}: ${r.architecture}, ${r.tensors} tensors, ${opts.dtype}, ${(r.bytes / 1e6).toFixed(1)} MB${merged} in ${seconds()} s\n`);
      } finally {
        if (tmp) rmSync(tmp, { recursive: true, force: true });
      }
    });
  withExamples(cmd, [
    "move37 export runs/r1-zero-tiny-20250101-120000 --format gguf --dtype f16 --out tiny.gguf",
    "llama-cli -m tiny.gguf -p 'A conversation between User and Assistant.'",
    "move37 export runs/grpo-gsm8k-20250101-120000 --format hf --out models/my-grpo-model",
    "move37 export runs/grpo-lora/adapter --merge --format hf --out merged/",
    "move37 export runs/grpo-lora/adapter --merge --out merged.gguf",
  ]);
}
