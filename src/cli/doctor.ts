// `move37 doctor`: what this machine offers Move37, and what to install when something is missing.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { Command } from "commander";
import { nativeInfo } from "../engine/index.js";
import { machineInfo } from "../runs/machine.js";
import { withExamples } from "./help.js";
import { output } from "./output.js";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const GiB = 1024 ** 3;
const CHROMIUM = "/usr/bin/chromium";

function run(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 20000 }).trim();
  } catch {
    return null;
  }
}

function nativeCheck(): Check {
  const info = nativeInfo();
  return info.available
    ? { name: "native addon", ok: true, detail: `loaded: ${info.simd} kernels, ${info.threads} threads (MOVE37_THREADS overrides)` }
    : { name: "native addon", ok: false, detail: `not loaded (${info.error ?? "not built"}): \`node scripts/build-native.mjs\` builds it; the slow reference backend runs meanwhile` };
}

export async function doctorChecks(): Promise<Check[]> {
  const m = machineInfo();
  const major = Number(process.versions.node.split(".")[0]);
  const simd = m.cpuFlags.filter(f => f.startsWith("avx") || f === "fma" || f === "neon" || f === "asimd");
  // PATH's python3 may be a pyenv or venv without torch while Debian's python3-torch sits in /usr/bin.
  let torch: string | null = null;
  for (const py of ["python3", "/usr/bin/python3"]) {
    // the package metadata answers in a fraction of a second; importing torch takes several
    const v = run(py, ["-c", "import importlib.metadata as m; print(m.version('torch'))"]);
    if (v !== null) {
      torch = `${v} via ${py}`;
      break;
    }
  }
  // dpkg answers at once; starting chromium just to print its version takes seconds on a busy machine.
  const chromium = existsSync(CHROMIUM) ? `${CHROMIUM} ${run("dpkg-query", ["-W", "-f=${Version}", "chromium"]) ?? ""}`.trim() : null;
  return [
    { name: "node", ok: major >= 20, detail: `${process.version}${major >= 20 ? "" : " (Move37 needs Node 20 or newer)"}` },
    { name: "cpu", ok: true, detail: `${m.cpu}, ${m.cores} logical cores` },
    { name: "simd", ok: simd.includes("avx2") || simd.includes("neon") || simd.includes("asimd"), detail: simd.join(" ") || "no AVX2/AVX-512/NEON: native kernels run their scalar path" },
    nativeCheck(),
    { name: "threads", ok: true, detail: `${availableParallelism()} available to this process` },
    { name: "memory", ok: m.freeMemoryBytes > 1 * GiB, detail: `${(m.freeMemoryBytes / GiB).toFixed(1)} GiB free of ${(m.memoryBytes / GiB).toFixed(1)} GiB` },
    { name: "python3-torch", ok: torch !== null, detail: torch ? `torch ${torch} (peer benchmarks, golden tests)` : "missing: apt-get install python3-torch (only peer benchmarks and golden tests need it)" },
    { name: "chromium", ok: chromium !== null, detail: chromium ?? "missing: apt-get install chromium (only the dashboard's browser test needs it)" },
  ];
}

export function register(program: Command): void {
  const cmd = program
    .command("doctor")
    .description("check Node, CPU features, the native addon, threads, memory, and optional tools")
    .option("--json", "print the checks as JSON")
    .action(async (opts: { json?: boolean }) => {
      const checks = await doctorChecks();
      if (opts.json) {
        output.out(JSON.stringify(checks, null, 2) + "\n");
        return;
      }
      const w = Math.max(...checks.map(c => c.name.length));
      for (const c of checks) output.out(`${c.ok ? "ok  " : "warn"}  ${c.name.padEnd(w)}  ${c.detail}\n`);
    });
  withExamples(cmd, ["move37 doctor", "move37 doctor --json"]);
}
