// Runs the move37 CLI in this process (tsx start-up per call would be seconds), capturing what it prints.
import type { Command } from "commander";
import { buildProgram } from "../../src/cli/program.js";

export interface CliResult {
  stdout: string;
  stderr: string;
  error?: Error;
}

function throwInsteadOfExit(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) throwInsteadOfExit(sub);
}

export async function runCli(args: string[]): Promise<CliResult> {
  const program = buildProgram();
  throwInsteadOfExit(program);
  let stdout = "";
  let stderr = "";
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    await program.parseAsync(["node", "move37", ...args]);
    return { stdout, stderr };
  } catch (error) {
    return { stdout, stderr, error: error as Error };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** Every command path: ["train"], ["runs", "ls"], ... */
export function commandPaths(cmd: Command = buildProgram(), prefix: string[] = []): string[][] {
  return cmd.commands.flatMap(sub => [[...prefix, sub.name()], ...commandPaths(sub, [...prefix, sub.name()])]);
}
