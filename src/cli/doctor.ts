// `move37 doctor`: what this machine offers Move37, and what to install when something is missing.
import { execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";
import type { Command } from "commander";
import { machineInfo } from "../runs/machine.js";
import { withExamples } from "./help.js";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const GiB = 1024 ** 3;

function run(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 20000 }).trim();
  } catch {
    return null;
  }
}

// The engine module loads the addon as it is imported, so a broken build shows up as an import error here.
async function nativeCheck(): Promise<Check> {
  try {
    const engine = (await import(new URL("../engine/index.js", import.meta.url).href)) as {
      nativeAvailable?: () => boolean;
      nativeInfo?: () => unknown;
    };
    if (typeof engine.nativeAvailable !== "function") return { name: "native addon", ok: false, detail: "src/engine/index.ts has no nativeAvailable(): this checkout predates the native engine" };
    const ok = engine.nativeAvailable();
    const info = engine.nativeInfo?.();
    return { name: "native addon", ok, detail: ok ? JSON.stringify(info) : `not available${info ? `: ${JSON.stringify(info)}` : ""}; \`npm install\` builds it (needs a C compiler and python3); the reference backend is used meanwhile` };
  } catch (err) {
    return { name: "native addon", ok: false, detail: `engine failed to load: ${(err as Error).message}` };
  }
}

export async function doctorChecks(): Promise<Check[]> {
  const m = machineInfo();
  const major = Number(process.versions.node.split(".")[0]);
  const simd = m.cpuFlags.filter(f => f.startsWith("avx") || f === "fma" || f === "neon" || f === "asimd");
  // PATH's python3 may be a pyenv or venv without torch while Debian's python3-torch sits in /usr/bin.
  const torchPython = ["python3", "/usr/bin/python3"].find(p => run(p, ["-c", "import torch"]) !== null);
  const torch = torchPython ? `${run(torchPython, ["-c", "import torch; print(torch.__version__)"])} via ${torchPython}` : null;
  const chromium = run("/usr/bin/chromium", ["--version"]);
  return [
    { name: "node", ok: major >= 20, detail: `${process.version}${major >= 20 ? "" : " (Move37 needs Node 20 or newer)"}` },
    { name: "cpu", ok: true, detail: `${m.cpu}, ${m.cores} logical cores` },
    { name: "simd", ok: simd.includes("avx2") || simd.includes("neon") || simd.includes("asimd"), detail: simd.join(" ") || "no AVX2/AVX-512/NEON: native kernels run their scalar path" },
    await nativeCheck(),
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
        process.stdout.write(JSON.stringify(checks, null, 2) + "\n");
        return;
      }
      const w = Math.max(...checks.map(c => c.name.length));
      for (const c of checks) process.stdout.write(`${c.ok ? "ok  " : "warn"}  ${c.name.padEnd(w)}  ${c.detail}\n`);
    });
  withExamples(cmd, ["move37 doctor", "move37 doctor --json"]);
}
