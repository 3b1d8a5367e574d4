import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Readable } from "node:stream";
import { Command } from "commander";
import { register, verifyStream } from "../../src/cli/verify.js";
import { output } from "../../src/cli/output.js";

async function run(lines: string[]): Promise<Record<string, unknown>[]> {
  const chunks: string[] = [];
  const saved = output.out;
  output.out = (t: string) => { chunks.push(t); };
  try {
    await verifyStream(Readable.from([lines.join("\n") + "\n"]));
  } finally {
    output.out = saved;
  }
  return chunks.join("").trim().split("\n").map(l => JSON.parse(l));
}

test("verify: one verdict line per input line, in order, with details", async () => {
  const out = await run([
    JSON.stringify({ task: "math", completion: "so \\boxed{\\frac{1}{2}}", answer: "0.5" }),
    JSON.stringify({ task: "math", completion: "so \\boxed{3}", answer: "" }),
    JSON.stringify({ task: "format", completion: "<think>a</think><answer>1</answer>" }),
    JSON.stringify({ task: "countdown", completion: "<answer>25*3</answer>", nums: [25, 3, 1], target: 72 }),
    JSON.stringify({ task: "language", completion: "<think>hello world</think>", language: "en" }),
    JSON.stringify({ task: "code", completion: "def f(): return 1", tests: ["assert f() == 1"] }),
    JSON.stringify({ reward: "repetition", completion: "a b a b a b" }),
    "not json",
    JSON.stringify({ task: "poetry", completion: "x" }),
  ]);
  assert.equal(out.length, 9);
  assert.deepEqual(out[0], { reward: 1, extracted_gold: "0.5", extracted_answer: "\\frac{1}{2}" });
  assert.equal(out[1].reward, null);
  assert.equal(out[2].reward, 1);
  assert.deepEqual(out[3], { reward: 0.1, verdict: "wrong" });
  assert.equal(out[4].reward, 1);
  assert.equal(out[5].reward, 1);
  assert.equal(out[6].reward, -0.5);
  assert.equal(out[7].reward, null);
  assert.match(String(out[7].error), /not JSON/);
  assert.match(String(out[8].error), /unknown task/);
});

test("verify registers a verb with help and examples", () => {
  const program = new Command();
  register(program);
  const cmd = program.commands.find(c => c.name() === "verify");
  assert.ok(cmd);
  assert.match(cmd.helpInformation() + "", /JSON lines/);
});

test("verify reads stdin through the real CLI entry point when main wires it", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", `
    import { Command } from "commander";
    import { register } from "./src/cli/verify.ts";
    const p = new Command(); register(p); await p.parseAsync(["node", "move37", "verify"]);
  `], { input: JSON.stringify({ task: "math", completion: "\\boxed{4}", answer: "4" }) + "\n", encoding: "utf8", cwd: new URL("../..", import.meta.url).pathname });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { reward: 1, extracted_gold: "4", extracted_answer: "4" });
});
