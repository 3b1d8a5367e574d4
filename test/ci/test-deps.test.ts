// The fresh-machine check: no test spawns a program, runs Python importing a module, or imports a Node
// package that neither `npm ci` nor .ci/run provides; .ci/run installs exactly what .ci/system-packages lists.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
// @ts-expect-error: a plain .mjs script without type declarations
import { checkInstalled, checkSources, MANIFEST, parseManifest, ROOT, testSources } from "../../scripts/check-test-deps.mjs";

const manifest = parseManifest(readFileSync(join(ROOT, MANIFEST), "utf8"));
const packageJson = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const check = (text: string) => checkSources([{ path: "test/x.test.ts", text }], manifest, packageJson) as string[];

test("every test file uses only what npm ci and .ci/run provide", () => {
  const files = testSources();
  assert.ok(files.length > 50 && files.some((f: { path: string }) => f.path === join("test", "reward-server", "server.test.ts")));
  // only this file is left out (its fixtures name unlisted programs on purpose)
  const all = (readdirSync(join(ROOT, "test"), { recursive: true }) as string[]).filter(p => p.endsWith(".ts")).map(p => join("test", p));
  assert.deepEqual(all.filter(p => !files.some((f: { path: string }) => f.path === p)), [join("test", "ci", "test-deps.test.ts")]);
  assert.deepEqual(checkSources(files, manifest, packageJson), []);
});

test(".ci/run installs exactly the packages of .ci/system-packages, and lists them with the reason first", () => {
  const r = spawnSync("bash", [join(ROOT, ".ci", "run"), "--list"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n"), manifest.map((e: { pkg: string }) => e.pkg));
  for (const pkg of ["chromium", "redis-server", "python3-requests"]) assert.ok(manifest.some((e: { pkg: string }) => e.pkg === pkg), pkg);
  const run = readFileSync(join(ROOT, ".ci", "run"), "utf8");
  assert.ok(run.indexOf("CI installs these Debian packages") < run.indexOf("apt-get install"), "the list is printed before anything is installed");
  assert.ok(run.indexOf("check-test-deps.mjs") < run.indexOf("npm test"), "the check runs before the tests");
});

test("a test that spawns a program nobody installs fails the check, with the file, line and program", () => {
  const problems = check([
    `import { spawn, spawnSync, execSync } from "node:child_process";`,
    `spawn("ffmpeg", ["-i", "x"]);`,
    `const CONVERT = "/usr/bin/convert";`,
    `spawnSync(CONVERT, []);`,
    `execSync("sqlite3 db.sqlite .tables");`,
    `await chromium.launch({ executablePath: "/opt/google/chrome" });`,
  ].join("\n"));
  assert.equal(problems.length, 4, problems.join("\n"));
  assert.match(problems[0], /^test\/x\.test\.ts:2: runs "ffmpeg", which neither npm ci nor \.ci\/run provides: add its Debian package to \.ci\/system-packages/);
  assert.match(problems[1], /:4: runs "\/usr\/bin\/convert"/);
  assert.match(problems[2], /:5: runs "sqlite3"/);
  assert.match(problems[3], /:6: runs "\/opt\/google\/chrome"/);
});

test("programs from the list, node itself and regular expressions' .exec pass; a target the scan cannot name fails", () => {
  assert.deepEqual(check([
    `const CHROMIUM = "/usr/bin/chromium";`,
    `spawn(process.execPath, ["--import", "tsx"]); spawnSync("redis-server", ["--version"]);`,
    `spawn("/usr/bin/python3", ["-c", "print(1)"]); chromium.launch({ executablePath: CHROMIUM });`,
    `const m = /at (\\S+)/.exec(out);`,
  ].join("\n")), []);
  const problems = check(`spawn(pickProgram(), []);`);
  assert.equal(problems.length, 1);
  assert.match(problems[0], /:1: runs pickProgram\(\), a program this check cannot name/);
});

test("Python a test runs may import the standard library and listed modules only; TypeScript imports are not taken for Python", () => {
  const py = "const script = `import json, sys, requests\\nfrom collections import Counter\\nimport numpy as np\\nfrom torch.nn import functional`;";
  const problems = check(`import { x } from "zod";\nimport type { Y } from "hono";\nimport z from "yaml";\n${py}`);
  assert.equal(problems.length, 2, problems.join("\n"));
  assert.match(problems[0], /:4: Python imports "numpy", which a fresh machine lacks.*python3-numpy/);
  assert.match(problems[1], /:4: Python imports "torch"/);
  // the same on one \n-escaped line, as in spawn("/usr/bin/python3", ["-c", "import os\nimport yaml"])
  assert.match(check(`spawnSync("/usr/bin/python3", ["-c", "import os\\nimport yaml"]);`).join(), /Python imports "yaml"/);
});

test("a Node package that package.json does not list fails; listed and built-in ones pass", () => {
  const problems = check(`import pad from "left-pad";\nimport { Redis } from "ioredis";\nimport { readFileSync } from "fs";\nconst nlc = await import("node-llama-cpp");\nconst t = await import("@scope/missing/sub");`);
  assert.equal(problems.length, 2, problems.join("\n"));
  assert.match(problems[0], /:1: imports the Node package "left-pad", which package.json does not list/);
  assert.match(problems[1], /:5: imports the Node package "@scope\/missing"/);
});

test("a test that reads ../shared or a machine's absolute path directly fails; test/external-data.ts may", () => {
  const text = `const rows = readFileSync(new URL("../../../shared/data/external/x.jsonl", import.meta.url));\nconst p = "/work/shared/data/y.json";\nconst ok = join(EXTERNAL_DIR, "x.jsonl");`;
  const problems = check(text);
  assert.equal(problems.length, 2, problems.join("\n"));
  assert.match(problems[0], /:1: reads a file outside the repository directly: take the path and its skip reason from test\/external-data\.ts/);
  assert.match(problems[1], /:2: reads a file outside/);
  assert.deepEqual(checkSources([{ path: "test/external-data.ts", text }], manifest, packageJson), []);
});

test("the list's format is checked, and --installed names what this machine lacks", () => {
  assert.throws(() => parseManifest("chromium /usr/bin/chromium browser tests"), /system-packages line 1: expected "debian-package \| programs/);
  const fake = parseManifest("nothing-here | /nonexistent/m37-program m37-no-such-program | a test\n");
  assert.deepEqual(checkInstalled(fake), ["nothing-here: /nonexistent/m37-program is not there", "nothing-here: m37-no-such-program is not on PATH"]);
});
