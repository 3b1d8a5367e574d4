// Builds the native addon (build/Release/move37.node) with node-gyp. This is the package's `install` script:
// a failed build must not fail `npm install`, because the pure-TypeScript reference backend still works (slowly).
import { spawnSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** node-gyp: npm's own setting, else the copy bundled next to the running (or installed) npm. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), "..", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  const which = spawnSync("sh", ["-c", "command -v npm"], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim()) {
    const npmCli = realpathSync(which.stdout.trim());
    candidates.push(join(dirname(npmCli), "..", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  }
  candidates.push(join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  return candidates.find(p => existsSync(p));
}

function fail(what) {
  console.warn(`move37: WARNING native addon build failed (${what}); the slow pure-TypeScript reference backend will be used. ` +
    "Retry with `npm rebuild move37` or `node scripts/build-native.mjs`.");
  process.exit(0);
}

const gyp = findNodeGyp();
if (!gyp) fail("node-gyp not found next to npm");
const args = [gyp, "rebuild", "--release"];
if (!process.env.npm_config_nodedir && existsSync("/usr/include/node/node_api.h")) args.push("--nodedir=/usr");
const r = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
if (r.status !== 0) fail(`node-gyp rebuild exited with ${r.status ?? r.signal}`);
if (!existsSync(join(root, "build", "Release", "move37.node"))) fail("build/Release/move37.node missing after node-gyp");
