// `move37 download ID [--revision R] [--dataset] [--config C] [--split S]`: fetch a model or dataset from the Hugging
// Face hub into the local HF cache ahead of time (where transformers and datasets look too), printing the folder.
import type { Command } from "commander";
import { fetchToCache, formatHubId, hubEnv, mb } from "../hub/index.js";
import { withExamples } from "./help.js";
import { output } from "./output.js";

interface DownloadFlags {
  revision?: string;
  dataset?: boolean;
  config?: string;
  split?: string;
  quiet?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command("download")
    .description("download a model (config, safetensors, tokenizer, chat template) or a dataset's Parquet files from the Hugging Face hub into the local HF cache; prints the folder")
    .argument("<id>", "hub id: owner/name, owner/name@revision; datasets also owner/name:config or owner/name:config:split")
    .option("--revision <rev>", "branch, tag or commit sha (default: main, or the id's @revision)")
    .option("--dataset", "the id names a dataset repo (huggingface.co/datasets/…)")
    .option("--config <name>", "dataset config (subset), e.g. main for openai/gsm8k")
    .option("--split <name>", "only this split's files, e.g. train")
    .option("-q, --quiet", "no progress bars")
    .action(async (idText: string, f: DownloadFlags) => {
      const kind = f.dataset || f.config !== undefined || f.split !== undefined || idText.includes(":") ? "dataset" : "model";
      const env = hubEnv();
      const r = await fetchToCache(idText, kind, { env, revision: f.revision, config: f.config, split: f.split, progress: f.quiet ? false : undefined });
      const note = r.cached ? `already in the cache (${env.cacheDir})` : `${r.downloaded.length} of ${r.files.length} files downloaded, ${mb(r.bytes)} in all`;
      output.err(`${kind} ${formatHubId(r.id)} at ${r.sha.slice(0, 12)}: ${note}\n`);
      output.out(`${r.dir}\n`);
    });
  withExamples(cmd, [
    "move37 download Qwen/Qwen2.5-0.5B-Instruct",
    "move37 download openai/gsm8k:main --dataset",
    "move37 download Qwen/Qwen3-0.6B --revision main && HF_HUB_OFFLINE=1 move37 train recipes/grpo-qwen3.yaml",
  ]);
}
