// The environment huggingface_hub reads, with its precedence: where the cache is, which endpoint, offline, token.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export interface HubEnv {
  /** the hub cache folder (models--owner--name/, datasets--owner--name/) */
  cacheDir: string;
  /** https://huggingface.co or HF_ENDPOINT, without a trailing slash */
  endpoint: string;
  offline: boolean;
  token?: string;
}

const truthy = (v: string | undefined) => v !== undefined && ["1", "on", "yes", "true"].includes(v.trim().toLowerCase());

/** $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
export function hfHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "huggingface");
}

/** $HF_HUB_CACHE, else the older $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub (huggingface_hub's constants). */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || join(hfHome(env), "hub");
}

/** $HF_TOKEN, else the older $HUGGING_FACE_HUB_TOKEN, else the file `hf auth login` writes ($HF_HOME/token). */
export function hubToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const t = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN;
  if (t) return t.trim();
  const file = env.HF_TOKEN_PATH || join(hfHome(env), "token");
  if (existsSync(file)) {
    const s = readFileSync(file, "utf8").trim();
    if (s) return s;
  }
  return undefined;
}

export function hubEnv(env: NodeJS.ProcessEnv = process.env): HubEnv {
  return {
    cacheDir: hubCacheDir(env),
    endpoint: (env.HF_ENDPOINT || "https://huggingface.co").replace(/\/+$/, ""),
    offline: truthy(env.HF_HUB_OFFLINE) || truthy(env.TRANSFORMERS_OFFLINE),
    token: hubToken(env),
  };
}
