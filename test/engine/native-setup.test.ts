/** Backend selection and the install-time build script, in child processes so module state stays fresh. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nativeAvailable } from "../../src/engine/index.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

test("without the addon, auto falls back to reference with one warning and native throws a named error", () => {
  const script = `
    import { getBackend, nativeAvailable, nativeInfo } from "./src/engine/index.js";
    const a = getBackend(), b = getBackend("auto");
    let err = "";
    try { getBackend("native"); } catch (e) { err = e.name + ": " + e.message; }
    console.log(JSON.stringify({ a: a.name, b: b.name, available: nativeAvailable(), info: nativeInfo(), err }));`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script],
    { cwd: root, encoding: "utf8", env: { ...process.env, MOVE37_NATIVE_ADDON: "/nonexistent/move37.node" } });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  assert.equal(out.a, "reference");
  assert.equal(out.b, "reference");
  assert.equal(out.available, false);
  assert.equal(out.info.simd, null);
  assert.match(out.err, /^NativeUnavailableError: native backend unavailable .*node scripts\/build-native\.mjs/);
  assert.equal(r.stderr.match(/WARNING native addon not available/g)?.length, 1, r.stderr);
});

test("an addon built before a kernel was added is refused at load, naming the kernels and the rebuild", { skip: nativeAvailable() ? false : "native addon not built" }, () => {
  // the real addon minus relu and im2col3x3, as a build from before them would be
  const dir = mkdtempSync(join(tmpdir(), "move37-stale-"));
  const stale = join(dir, "stale.cjs");
  writeFileSync(stale, `const a = { ...require(${JSON.stringify(join(root, "build", "Release", "move37.node"))}) }; delete a.relu; delete a.im2col3x3; module.exports = a;\n`);
  const script = `
    import { getBackend, nativeInfo } from "./src/engine/index.js";
    let err = "";
    try { getBackend("native"); } catch (e) { err = e.message; }
    console.log(JSON.stringify({ auto: getBackend().name, info: nativeInfo(), err }));`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script],
    { cwd: root, encoding: "utf8", env: { ...process.env, MOVE37_NATIVE_ADDON: stale } });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  assert.equal(out.auto, "reference");
  assert.equal(out.info.available, false);
  assert.match(out.err, /built before relu, im2col3x3 \(rebuild it with `node scripts\/build-native\.mjs`\)/);
});

test("build-native.mjs turns a failed build into one warning line and exit code 0", () => {
  const dir = mkdtempSync(join(tmpdir(), "move37-gyp-"));
  const fake = join(dir, "node-gyp.js");
  writeFileSync(fake, "process.exit(3);\n"); // a node-gyp that fails, standing in for a missing compiler
  const r = spawnSync(process.execPath, [join(root, "scripts", "build-native.mjs")],
    { cwd: root, encoding: "utf8", env: { ...process.env, npm_config_node_gyp: fake } });
  assert.equal(r.status, 0);
  const lines = r.stderr.trim().split("\n").filter(l => l.includes("WARNING"));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /native addon build failed \(node-gyp rebuild exited with 3\).*reference backend.*npm rebuild move37/);
});
