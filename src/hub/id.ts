// Hub ids: `owner/name`, `owner/name@revision`, and for datasets `owner/name:config` or `owner/name:config:split`
// (`openai/gsm8k:main`, `openai/gsm8k@main:main:test`). A revision is a branch, a tag or a 40-hex commit sha.
import { existsSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { HubIdError } from "./errors.js";

export type RepoKind = "model" | "dataset";

export interface HubId {
  kind: RepoKind;
  /** owner/name */
  repo: string;
  /** branch, tag or commit sha; "main" when not given */
  revision: string;
  /** whether the id named its revision (for messages) */
  explicitRevision: boolean;
  /** dataset config (the hub's subset, e.g. gsm8k's "main") */
  config?: string;
  /** dataset split (e.g. "train") */
  split?: string;
}

// The hub's repo-name rule: letters, digits, "-", "_", "."; no "--" or ".." ; at most 96 characters.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const REF = /^[A-Za-z0-9][A-Za-z0-9._\/-]*$/;
const PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const COMMIT_SHA = /^[0-9a-f]{40}$/;

/** File suffixes that make a string a path, never an id. */
const PATH_SUFFIX = /\.(jsonl|json|parquet|csv|txt|yaml|yml|safetensors|gguf)$/i;

/** Parses an id; throws HubIdError naming what is wrong. `:config[:split]` only for datasets. */
export function parseHubId(s: string, kind: RepoKind, opts: { allowConfig?: boolean } = {}): HubId {
  const text = s.trim();
  if (text === "") throw new HubIdError(s, "empty");
  if (text.startsWith(".") || text.startsWith("/") || text.startsWith("~") || isAbsolute(text) || text.includes("\\"))
    throw new HubIdError(s, "it is written as a path");
  let rest = text;
  let config: string | undefined, split: string | undefined;
  const colon = rest.indexOf(":");
  if (colon >= 0) {
    if (kind !== "dataset" && !opts.allowConfig) throw new HubIdError(s, "a :config suffix names a dataset config; a model id has none");
    const parts = rest.slice(colon + 1).split(":");
    rest = rest.slice(0, colon);
    if (parts.length > 2 || parts.some(p => !PART.test(p))) throw new HubIdError(s, "after the name comes :config or :config:split, letters, digits, . _ -");
    [config, split] = parts;
  }
  let revision = "main", explicitRevision = false;
  const at = rest.indexOf("@");
  if (at >= 0) {
    revision = rest.slice(at + 1);
    rest = rest.slice(0, at);
    explicitRevision = true;
    if (!REF.test(revision) || revision.includes("..")) throw new HubIdError(s, `revision "${revision}" is not a branch, tag or commit sha`);
  }
  const parts = rest.split("/");
  if (parts.length !== 2) throw new HubIdError(s, parts.length < 2 ? "an id is owner/name" : "an id has exactly one /");
  if (PATH_SUFFIX.test(rest)) throw new HubIdError(s, "it ends like a file name");
  for (const p of parts) {
    if (!NAME.test(p) || p.includes("--") || p.includes("..") || p.endsWith(".") || p.endsWith("-"))
      throw new HubIdError(s, `"${p}" is not a valid owner or repo name (letters, digits, . _ -, at most 96)`);
  }
  return { kind, repo: parts.join("/"), revision, explicitRevision, config, split };
}

/** The id as a user writes it (for messages and `move37 download`'s output). */
export function formatHubId(id: HubId): string {
  return `${id.repo}${id.explicitRevision ? `@${id.revision}` : ""}${id.config ? `:${id.config}` : ""}${id.split ? `:${id.split}` : ""}`;
}

/**
 * What a model/dataset string names: a local path when it exists (relative to baseDir), or when its first folder
 * exists here (`models/grpo-gsm8k` before the recipe that writes it has run: the trainer's own error then says
 * which recipe makes it); else a hub id when it has that shape; else the path (the caller's "no such folder" speaks).
 */
export function classify(s: string, kind: RepoKind, baseDir = process.cwd()): { local: string } | { id: HubId } {
  const local = resolve(baseDir, s);
  if (existsSync(local)) return { local };
  const first = resolve(baseDir, s.split("/")[0]);
  if (s.includes("/") && existsSync(first) && statSync(first).isDirectory()) return { local };
  try {
    return { id: parseHubId(s, kind) };
  } catch {
    return { local };
  }
}
