// `move37 bench NAME [args...]`: runs bench/NAME.ts in a child process (a clean process per measurement).
import { existsSync, readdirSync } from "node:fs";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type { Command } from "commander";
import { didYouMean } from "../recipes/hints.js";
import { withExamples } from "./help.js";
import { output } from "./output.js";

const BENCH_DIR = fileURLToPath(new URL("../../bench", import.meta.url));

export class UnknownBenchError extends Error {
  constructor(name: string, known: string[]) {
    const guess = didYouMean(name, known);
    super(`no benchmark "${name}"` + (guess ? ` (did you mean "${guess}"?)` : "") + `: available: ${known.join(", ") || "(none)"}`);
    this.name = "UnknownBenchError";
  }
}

/** bench/common.ts holds the helpers benchmarks share; every other bench/*.ts is a benchmark. */
export function benchNames(dir = BENCH_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter(f => f.endsWith(".ts") && f !== "common.ts").map(f => f.slice(0, -3)).sort();
}

/** Runs one benchmark under tsx with inherited stdio; resolves to its exit code. */
export function runBench(name: string, args: string[]): Promise<number> {
  const known = benchNames();
  if (!known.includes(name)) throw new UnknownBenchError(name, known);
  const child = spawn(process.execPath, ["--import", "tsx", join(BENCH_DIR, `${name}.ts`), ...args], { stdio: "inherit" });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

export function register(program: Command): void {
  const cmd = program
    .command("bench")
    .description("run a benchmark (bench/NAME.ts) against its peer; prints a table and one JSON line per figure")
    .argument("[name]", "benchmark name; omit to list them")
    .argument("[args...]", "passed to the benchmark")
    .passThroughOptions()
    .allowUnknownOption()
    .action(async (name: string | undefined, args: string[]) => {
      if (name === undefined) {
        output.out(benchNames().join("\n") + "\n");
        return;
      }
      const code = await runBench(name, args);
      if (code !== 0) process.exitCode = code;
    });
  withExamples(cmd, ["move37 bench", "move37 bench matmul", "npm run bench -- grpo"]);
}
