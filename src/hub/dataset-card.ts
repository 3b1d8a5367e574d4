// A dataset card's `configs:` (README.md's YAML front matter), read as `datasets.load_dataset` reads it: which files
// make each config's splits when their names do not follow the split conventions. One reader for the two places that
// need it: a local dataset folder (src/data/files.ts) and a cached hub snapshot (src/hub/cache.ts).
//
//   configs:
//   - config_name: default
//     default: true
//     data_files:
//     - split: train
//       path: data/train_sft-*
//
// `data_files` may also be one pattern, a list of patterns (all "train"), or a {split: pattern(s)} map.
import { parse as parseYaml } from "yaml";

export interface CardConfig {
  name: string;
  /** `default: true` in the card: the config load_dataset picks when none is named. */
  isDefault: boolean;
  /** split → data_files patterns, "/"-separated, relative to the dataset's root. */
  splits: Map<string, string[]>;
}

/** The card's configs, or undefined when it declares none (or its front matter does not parse: it says nothing about files). */
export function cardConfigs(readme: string): CardConfig[] | undefined {
  const m = /^---\r?\n([\s\S]*?)\r?\n---/.exec(readme);
  if (!m) return undefined;
  let meta: unknown;
  try {
    meta = parseYaml(m[1]);
  } catch {
    return undefined;
  }
  const configs = (meta as { configs?: unknown } | null)?.configs;
  if (!Array.isArray(configs) || configs.length === 0) return undefined;
  const patterns = (v: unknown): string[] => (typeof v === "string" ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  const parsed = configs.filter(c => typeof c === "object" && c !== null).map(c => {
    const { config_name, data_files, default: isDefault } = c as { config_name?: unknown; data_files?: unknown; default?: unknown };
    const splits = new Map<string, string[]>();
    if (Array.isArray(data_files) && data_files.some(d => typeof d === "object" && d !== null)) {
      for (const d of data_files as { split?: unknown; path?: unknown }[]) splits.set(String(d.split ?? "train"), patterns(d.path));
    } else if (typeof data_files === "object" && data_files !== null && !Array.isArray(data_files)) {
      for (const [k, v] of Object.entries(data_files)) splits.set(k, patterns(v));
    } else splits.set("train", patterns(data_files));
    return { name: String(config_name ?? "default"), isDefault: isDefault === true, splits };
  });
  return parsed.length > 0 ? parsed : undefined;
}

/** A `data_files` pattern as a regular expression over "/"-separated relative paths (`**` spans folders). */
export function dataFilesRegex(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "*" && pattern[i + 1] === "*") { re += ".*"; i++; if (pattern[i + 1] === "/") i++; }
    else if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else re += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}
