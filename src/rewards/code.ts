// Code reward: the fraction of the example's tests the completion's program passes, run in a
// sandbox (Python: child process under unshare/prlimit; JavaScript: QuickJS in WebAssembly).
import { safeAsync } from "./guard.js";
import { extractProgram } from "./code/extract.js";
import { runPythonTests, type CodeTest, type SandboxLimits } from "./code/python.js";
import { runJavaScriptTests } from "./code/javascript.js";
import type { AsyncRewardFn, RewardExample } from "./types.js";

function testsOf(example: RewardExample): CodeTest[] | undefined {
  const t = example.tests;
  if (!Array.isArray(t) || t.length === 0) return undefined;
  const ok = t.every(x => typeof x === "string" || (typeof x === "object" && x !== null && typeof (x as { input?: unknown }).input === "string" && typeof (x as { output?: unknown }).output === "string"));
  return ok ? (t as CodeTest[]) : undefined;
}

/**
 * Runs the last fenced code block of the answer against `example.tests` (Python assertion snippets,
 * or {input, output} stdin/stdout pairs; JavaScript: snippets that throw on failure) in
 * `example.language` ("python", the default, or "javascript"); reward = fraction passed.
 * null when the example has no usable tests; 0 when there is no program.
 *
 * Worked example:
 *   await codeReward("```python\ndef add(a, b):\n    return a + b\n```", { tests: ["assert add(1, 2) == 3", "assert add(2, 2) == 5"] })  // 0.5
 *   await codeReward("```js\nfunction sq(x) { return x * x }\n```", { language: "javascript", tests: ["if (sq(3) !== 9) throw 0"] })  // 1
 */
export function makeCodeReward(limits: SandboxLimits = {}): AsyncRewardFn {
  return safeAsync(async (completion, example) => {
    const tests = testsOf(example);
    if (!tests) return null;
    const program = extractProgram(completion);
    if (program === undefined) return 0;
    const lang = typeof example.language === "string" ? example.language.toLowerCase() : "python";
    if (lang === "javascript" || lang === "js") {
      if (!tests.every(t => typeof t === "string")) return null;
      return runJavaScriptTests(program, tests as string[], { timeoutMs: limits.timeoutMs });
    }
    if (lang !== "python" && lang !== "py") return null;
    return runPythonTests(program, tests, limits);
  });
}

export const codeReward: AsyncRewardFn = makeCodeReward();
