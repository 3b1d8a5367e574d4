/**
 * Completions from an OpenAI-compatible server, in the shape the in-process sampler returns them. Prompts go out
 * as token ids (so no chat template or tokenizer can differ between trainer and server); the answer must carry
 * the generated ids (vLLM's `return_token_ids`, or tokens spelled `token_id:N` via `return_tokens_as_token_ids`)
 * and each token's log-prob (`logprobs: 0`). For vLLM, start it with `--logprobs-mode processed_logprobs` so the
 * log-probs are of the distribution it sampled from (after temperature), as Move37's sampler reports them.
 */
import type { FinishReason, Generation } from "../../sample/generate.js";
import { mixSeed } from "../../tasks/rng.js";
import { RolloutResponseError } from "./errors.js";
import type { ServerPool } from "./pool.js";

/** A completion with the policy version that sampled it (as the server reported it, or the one it had confirmed). */
export type VersionedGeneration = Generation & { policyVersion?: number };

export interface RolloutSampling {
  maxNewTokens: number; temperature: number; topP: number; topK: number;
  numReturnSequences: number; seed: number; stop: string[]; eosTokenIds: number[];
}

interface Choice {
  index: number; text: string; finish_reason: string | null; stop_reason?: string | number | null;
  token_ids?: number[] | null;
  logprobs?: { tokens?: string[]; token_logprobs?: (number | null)[] } | null;
}

export interface OpenAIEndpoint { model: string; promptsPerRequest: number }

/** Samples `numReturnSequences` completions of every prompt; results in prompt-major order like `generate`. */
export async function openaiGenerate(pool: ServerPool, ep: OpenAIEndpoint, prompts: number[][], s: RolloutSampling): Promise<VersionedGeneration[]> {
  const per = ep.promptsPerRequest > 0 ? ep.promptsPerRequest : prompts.length;
  const chunks: number[] = [];
  for (let i = 0; i < prompts.length; i += per) chunks.push(i);
  const answers = await Promise.all(chunks.map((start, k) => pool.post<{ choices?: Choice[] }>("/completions", {
    model: ep.model, prompt: prompts.slice(start, start + per), n: s.numReturnSequences, max_tokens: s.maxNewTokens,
    temperature: s.temperature, top_p: s.topP, ...(s.topK > 0 ? { top_k: s.topK } : {}),
    // One chunk keeps the step's seed, so a whole-step request samples as the in-process sampler does.
    seed: chunks.length === 1 ? s.seed : mixSeed(s.seed, k), stop: s.stop, logprobs: 0,
    return_token_ids: true, return_tokens_as_token_ids: true, skip_special_tokens: true,
  }, Math.min(per, prompts.length - start) * s.numReturnSequences)));
  return answers.flatMap(({ value: a, server, version }, k) => {
    const count = Math.min(per, prompts.length - chunks[k]) * s.numReturnSequences;
    if (!Array.isArray(a.choices) || a.choices.length !== count)
      throw new RolloutResponseError(`the server answered ${a.choices?.length ?? "no"} choices, expected ${count} (prompts × n): does it accept a list of token-id prompts and n?`);
    const gens = [...a.choices].sort((x, y) => x.index - y.index).map(c => ({ ...toGeneration(c, chunks[k], s), policyVersion: version }));
    server.stats.tokens += gens.reduce((t, g) => t + g.ids.length, 0);
    return gens;
  });
}

function toGeneration(c: Choice, firstPrompt: number, s: RolloutSampling): Generation {
  const n = s.numReturnSequences;
  const ids = c.token_ids ?? c.logprobs?.tokens?.map(tokenId);
  const logprobs = c.logprobs?.token_logprobs;
  if (!ids) throw new RolloutResponseError("the server returned no generated token ids: it must honour return_token_ids (vLLM ≥ 0.10.2, move37 serve) or return_tokens_as_token_ids");
  if (!logprobs || logprobs.length !== ids.length || logprobs.some(x => typeof x !== "number"))
    throw new RolloutResponseError(`the server returned ${logprobs?.length ?? "no"} log-probs for ${ids.length} tokens: it must honour logprobs: 0 with one log-prob per generated token`);
  return {
    prompt: firstPrompt + Math.floor(c.index / n), sample: c.index % n, ids, text: c.text,
    logprobs: logprobs as number[], finishReason: finishOf(c, ids, s.eosTokenIds),
  };
}

/** vLLM's "token_id:123" spelling of a token. */
function tokenId(t: string): number {
  const m = /^token_id:(\d+)$/.exec(t);
  if (!m) throw new RolloutResponseError(`token "${t}" is not spelled token_id:N: the server ignored return_tokens_as_token_ids and sent no token_ids`);
  return Number(m[1]);
}

/** OpenAI's "stop" covers EOS and stop strings; the trainer tells them apart (a stop string is put back for the rewards). */
function finishOf(c: Choice, ids: number[], eos: number[]): FinishReason {
  if (c.finish_reason === "length") return "length";
  if (typeof c.stop_reason === "string") return "stop";
  return ids.length > 0 && eos.includes(ids[ids.length - 1]) ? "eos" : "stop";
}
