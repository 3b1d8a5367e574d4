// What a run was measured on: recorded in run.json and printed by `move37 doctor`.
import { cpus, freemem, totalmem, platform, arch } from "node:os";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface MachineInfo {
  cpu: string;
  cores: number;
  /** SIMD features that decide which native kernels run. */
  cpuFlags: string[];
  memoryBytes: number;
  freeMemoryBytes: number;
  node: string;
  platform: string;
}

export interface GitInfo {
  commit: string;
  /** True when tracked files differ from the commit: the commit alone does not reproduce the run. */
  dirty: boolean;
}

const WATCHED_FLAGS = ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "neon", "asimd"];

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? "unknown",
    cores: list.length,
    cpuFlags: cpuFlags(),
    memoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    node: process.version,
    platform: `${platform()}-${arch()}`,
  };
}

/** The watched SIMD flags present in /proc/cpuinfo (empty where that file does not exist). */
export function cpuFlags(): string[] {
  let text: string;
  try {
    text = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return [];
  }
  const line = text.split("\n").find(l => /^(flags|Features)\s*:/.test(l)) ?? "";
  const present = new Set(line.split(":")[1]?.trim().split(/\s+/) ?? []);
  return WATCHED_FLAGS.filter(f => present.has(f));
}

/** The commit of the Move37 checkout running this code, or null outside a git checkout. */
export function gitInfo(): GitInfo | null {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  try {
    const opts = { cwd: root, encoding: "utf8" as const, stdio: ["ignore", "pipe", "ignore"] as ["ignore", "pipe", "ignore"] };
    const commit = execFileSync("git", ["rev-parse", "HEAD"], opts).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], opts).trim() !== "";
    return { commit, dirty };
  } catch {
    return null;
  }
}
