// Sandboxed code reward, including the adversarial suite: every attack must be contained,
// score 0, and leave the host unharmed (checked from outside after each run).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, writeFileSync, rmSync, readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { codeReward, makeCodeReward } from "../../src/rewards/code.js";
import { sandboxIsolation } from "../../src/rewards/code/python.js";

const py = (code: string) => "```python\n" + code + "\n```";
const js = (code: string) => "```javascript\n" + code + "\n```";
const T = ["assert f() == 1"];

test("python: fraction of assertion tests and stdin/stdout tests passed", async () => {
  assert.equal(await codeReward(py("def add(a, b):\n    return a + b"), { tests: ["assert add(1, 2) == 3", "assert add(2, 2) == 5"] }), 0.5);
  assert.equal(await codeReward(py("print(int(input()) * 2)"), { tests: [{ input: "21\n", output: "42" }, { input: "1\n", output: "3" }] }), 0.5);
  assert.equal(await codeReward("no code here", { tests: T }), 0);
  assert.equal(await codeReward(py("def f(): return 1"), {}), null);
});

test("python: printing fake pass markers or exiting early scores nothing", async () => {
  assert.equal(await codeReward(py("import sys\nfor i in range(5): print(i)\nsys.exit(0)"), { tests: T }), 0);
  assert.equal(await codeReward(py("import os\nos._exit(0)\ndef f(): return 1"), { tests: T }), 0);
  assert.equal(await codeReward(py("import os\nprint(open('/proc/self/environ').read())"), { tests: T }), 0);
});

// the reading, network and /tmp attacks are contained only with full isolation, which needs root (unshare, setpriv)
const notRoot = process.getuid?.() === 0 ? false : "the sandbox's full isolation (unshare, setpriv to another uid) needs root; CI runs as root";

test("python adversarial suite: contained, reward 0, host unharmed", { timeout: 120_000, skip: notRoot }, async () => {
  const secretDir = mkdtempSync(join(tmpdir(), "move37-secret-"));
  const secret = join(secretDir, "secret.txt");
  writeFileSync(secret, "TOP-SECRET", { mode: 0o600 });
  const outside = join(secretDir, "written-by-sandbox");
  const tmpEscape = join(tmpdir(), `move37-escape-${process.pid}`);
  const server = createServer(s => s.end("hello")).listen(0, "127.0.0.1");
  await new Promise(r => server.once("listening", r));
  const port = (server.address() as { port: number }).port;
  const limits = { timeoutMs: 2000 };
  const shortReward = makeCodeReward(limits);
  const attacks: Record<string, string> = {
    "infinite loop": "while True: pass\ndef f(): return 1",
    "fork bomb": "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass\ndef f(): return 1",
    "memory bomb": "x = []\nwhile True: x.append(bytearray(10**7))\ndef f(): return 1",
    "write outside the directory": `open(${JSON.stringify(outside)}, "w").write("x")\ndef f(): return 1`,
    "write to the host /tmp": `open(${JSON.stringify(tmpEscape)}, "w").write("x")\nassert False\ndef f(): return 1`,
    "read the host's files": `s = open(${JSON.stringify(secret)}).read()\ndef f(): return 1 if s == "TOP-SECRET" else 0`,
    "network socket": `import socket\nsocket.create_connection(("127.0.0.1", ${port}), timeout=2).recv(5)\ndef f(): return 1`,
    "kill the parent": `import os, signal\nos.kill(${process.pid}, signal.SIGKILL)\ndef f(): return 1`,
    "kill the parent via getppid": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(1, signal.SIGKILL)\ndef f(): return 2",
    "huge output": "while True: print('x' * 100000)\ndef f(): return 1",
    "huge file": "open('big', 'w').write('x' * (10**8))\ndef f(): return 1",
  };
  try {
    // the attacks run side by side (each in its own sandbox), as a trainer's batch would, next to an
    // honest program that must still pass (a fork bomb must not use up its process limit)
    const honest = shortReward(py("def f(): return 1"), { tests: T });
    await Promise.all(Object.entries(attacks).map(async ([name, code]) => {
      const t = performance.now();
      const r = await shortReward(py(code), { tests: T });
      assert.equal(r, 0, `${name} scored ${r}`);
      assert.ok(performance.now() - t < limits.timeoutMs + 20_000, `${name} took too long`);
    }));
    assert.equal(await honest, 1, "an honest program beside the attacks failed");
    assert.ok(!existsSync(outside), "a file appeared outside the sandbox directory");
    assert.ok(!existsSync(tmpEscape), "a file appeared in the host's /tmp");
    assert.ok(readdirSync(tmpdir()).every(n => !n.startsWith("move37-py-")), "sandbox directories left behind");
    assert.ok(sandboxIsolation() === "full", "expected full isolation on this machine (root, unshare available)");
  } finally {
    server.close();
    rmSync(secretDir, { recursive: true, force: true });
    rmSync(tmpEscape, { force: true });
  }
});

test("javascript: fraction passed; escapes, loops and memory bombs are contained", { timeout: 120_000 }, async () => {
  const ex = { language: "javascript", tests: ["if (sq(3) !== 9) throw 0", "if (sq(2) !== 5) throw 0"] };
  assert.equal(await codeReward(js("function sq(x) { return x * x }"), ex), 0.5);
  const attacks: Record<string, string> = {
    "process escape": "process.exit(1); function sq(x) { return x * x }",
    "require escape": "require('fs').writeFileSync('/tmp/x', 'y'); function sq(x) { return x * x }",
    "constructor escape": "this.constructor.constructor('return process')().exit(1); function sq(x) { return x * x }",
    "infinite loop": "while (true) {} function sq(x) { return x * x }",
    "memory bomb": "const a = []; for (;;) a.push(new Array(100000).fill(1)); function sq(x) { return x * x }",
    "stack overflow": "function r() { return r() + 1 } r(); function sq(x) { return x * x }",
  };
  const quick = makeCodeReward({ timeoutMs: 500 });
  for (const [name, code] of Object.entries(attacks)) assert.equal(await quick(js(code), ex), 0, name);
  // the runtime is rebuilt after the attacks and still works
  assert.equal(await codeReward(js("function sq(x) { return x * x }"), ex), 0.5);
});

test("fallback without namespaces: limits and timeout still apply, with a warning", { timeout: 60_000 }, () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", `
    import { makeCodeReward } from "./src/rewards/code.ts";
    const reward = makeCodeReward({ timeoutMs: 1500 });
    const ok = await reward("def f(): return 1", { tests: ["assert f() == 1", "assert f() == 2"] });
    const loop = await reward("while True: pass", { tests: ["assert True"] });
    console.log(JSON.stringify({ ok, loop }));
  `], { encoding: "utf8", env: { ...process.env, MOVE37_SANDBOX: "limits-only" }, cwd: new URL("../..", import.meta.url).pathname });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").at(-1)!), { ok: 0.5, loop: 0 });
  assert.match(r.stderr, /Move37SandboxWarning/);
});
