// `move37 export MODEL_DIR --format gguf --dtype f32|f16 --out FILE`: a Hugging Face folder to a llama.cpp GGUF file.
import { Option, type Command } from "commander";
import { exportGguf, type GgufDtype } from "../model/io/gguf-export.js";
import { withExamples } from "./help.js";
import { output } from "./output.js";
import { resolveModelPath } from "../hub/resolve.js";

export function register(program: Command): void {
  const cmd = program
    .command("export")
    .description("convert a model folder (config.json, safetensors, tokenizer.json; Llama or Qwen2) to a GGUF file that llama.cpp, Ollama and LM Studio load")
    .argument("<model_dir>", "Hugging Face model folder, e.g. a checkpoint of a run, or a hub id (owner/name)")
    .addOption(new Option("--format <format>", "output format").choices(["gguf"]).default("gguf"))
    .addOption(new Option("--dtype <dtype>", "weight precision: f32 (exact) or f16 (half the size; norms and biases stay f32)").choices(["f32", "f16"]).default("f32"))
    .requiredOption("--out <file>", "GGUF file to write (written to a temp file, then renamed)")
    .action((dir: string, opts: { format: "gguf"; dtype: GgufDtype; out: string }) => {
      const t0 = Date.now();
      const r = exportGguf(resolveModelPath(dir), opts.out, opts.dtype); // a hub id → its cached snapshot
      for (const w of r.warnings) output.err(`warning: ${w}\n`);
      output.out(`wrote ${r.path}: ${r.architecture}, ${r.tensors} tensors, ${opts.dtype}, ${(r.bytes / 1e6).toFixed(1)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    });
  withExamples(cmd, [
    "move37 export runs/r1-zero-tiny-20250101-120000/checkpoints/final --format gguf --dtype f16 --out tiny.gguf",
    "llama-cli -m tiny.gguf -p 'A conversation between User and Assistant.'",
  ]);
}
