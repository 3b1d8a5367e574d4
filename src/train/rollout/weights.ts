/**
 * The trainer's side of weights over HTTP: the policy written as the safetensors body `move37 serve` takes at
 * POST /v1/weights (src/serve/weights-http.ts): every parameter in F32 (bit for bit what the trainer holds), or
 * with LoRA only the adapter's tensors and its config (the server keeps its base and attaches the adapter).
 */
import type { CausalLM } from "../../model/types.js";
import { writeSafetensors } from "../../model/io/safetensors.js";
import { isLoraModel } from "../lora.js";

export function writePushFile(policy: CausalLM, file: string): void {
  if ((policy as { bf16Params?: unknown[] }).bf16Params?.length && !isLoraModel(policy))
    throw new Error("a frozen BF16 model has nothing to push: train LoRA adapters on it (lora:)");
  const meta: Record<string, string> = isLoraModel(policy) ? { move37_kind: "lora_adapter", lora_config: JSON.stringify(policy.lora) } : { move37_kind: "model" };
  writeSafetensors(file, policy.params.map(p => ({ name: p.name, shape: p.shape, data: p.data })), "F32", meta);
}
