// Runs `move37 export ARGS` in this process (only the export verb registered), returning what it printed.
import { Command } from "commander";
import { register } from "../../src/cli/export.js";
import { output } from "../../src/cli/output.js";

export async function runExport(args: string[]): Promise<string> {
  const program = new Command("move37").exitOverride().configureOutput({ writeErr: () => {} });
  register(program);
  let out = "";
  const saved = output.out;
  output.out = s => { out += s; };
  try {
    await program.parseAsync(["export", ...args], { from: "user" });
  } finally {
    output.out = saved;
  }
  return out;
}
