/**
 * The python tool: runs the model's code in the existing sandbox (src/rewards/code/python.ts: a fresh process per
 * call, no network, a private /tmp, address-space, process, file-size and CPU limits, a wall-clock timeout) and
 * returns what it printed, tracebacks included.
 *
 *   await pythonTool().run({ code: "print(sum(range(10)))" }, ctx)   // "45\n"
 */
import { z } from "zod";
import { defineTool } from "./tools.js";
import { runPythonProgram, type SandboxLimits } from "../rewards/code/python.js";

export function pythonTool(limits: SandboxLimits = {}) {
  const timeoutMs = limits.timeoutMs ?? 5000;
  return defineTool({
    name: "python",
    description: "Runs a Python 3 program in a sandbox (no network, no files kept) and returns what it prints.",
    parameters: z.object({ code: z.string().describe("The program; print the values you want to see.") }).strict(),
    // the sandbox's own wall clock is the limit: it starts when the process does, after the wait for a sandbox slot
    // (MAX_SANDBOXES), which a call timer would count; the sandbox kills the process group, so a call always returns
    timeoutMs: Infinity,
    run: async ({ code }) => {
      const r = await runPythonProgram(code, { ...limits, timeoutMs });
      if (r.timedOut) return `${r.output}${r.output && !r.output.endsWith("\n") ? "\n" : ""}[stopped: the program ran longer than ${timeoutMs} ms]`;
      return r.output === "" ? "(no output; print the values you want to see)" : r.output;
    },
  });
}
