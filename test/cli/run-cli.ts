// Runs the move37 CLI in this process (tsx start-up per call would be seconds), capturing what its verbs print.
import type { Command } from "commander";
import { buildProgram } from "../../src/cli/program.js";
import type { ProgramOptions } from "../../src/cli/train.js";
import { output } from "../../src/cli/output.js";

export interface CliResult {
  stdout: string;
  stderr: string;
  error?: Error;
}

function throwInsteadOfExit(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) throwInsteadOfExit(sub);
}

/** `options.trainers`: the trainers recipes may name instead of src/cli/trainers.ts's (a test's own toy trainer). */
export async function runCli(args: string[], options: ProgramOptions = {}): Promise<CliResult> {
  const program = buildProgram(options);
  throwInsteadOfExit(program);
  let stdout = "";
  let stderr = "";
  const { out, err } = output;
  output.out = text => void (stdout += text);
  output.err = text => void (stderr += text);
  try {
    await program.parseAsync(["node", "move37", ...args]);
    return { stdout, stderr };
  } catch (error) {
    return { stdout, stderr, error: error as Error };
  } finally {
    output.out = out;
    output.err = err;
  }
}

/** Every command path: ["train"], ["runs", "ls"], ... */
export function commandPaths(cmd: Command = buildProgram(), prefix: string[] = []): string[][] {
  return cmd.commands.flatMap(sub => [[...prefix, sub.name()], ...commandPaths(sub, [...prefix, sub.name()])]);
}
