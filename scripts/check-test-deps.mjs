#!/usr/bin/env node
// Fails when a test leans on something a fresh machine does not have: every program a test file
// spawns (spawn/spawnSync/execFile/execFileSync/exec/execSync, playwright's executablePath), every
// module the Python it runs imports, and every Node package it imports must come from `npm ci`
// (package.json) or from a package .ci/run installs (.ci/system-packages, the one list .ci/run reads);
// files outside the repository (../shared beside the clone) are named only in test/external-data.ts,
// which gives the tests that read them a skip reason where they are absent.
//
//   node scripts/check-test-deps.mjs              check test/**/*.ts against the list
//   node scripts/check-test-deps.mjs --installed  also check that this machine has what the list says
//
// What it cannot see: programs named inside a shell string or passed as another program's argument
// (the Python sandbox's `unshare ... sh -c "mount ..."` in src/): those are listed by hand.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { delimiter, join, relative } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const MANIFEST = ".ci/system-packages";

/** Top-level modules of Python 3.11's standard library (sys.stdlib_module_names of Debian bookworm's python3, without the _private ones). */
const PYTHON_STDLIB = new Set(`abc aifc antigravity argparse array ast asynchat asyncio asyncore atexit audioop base64 bdb binascii bisect
builtins bz2 cProfile calendar cgi cgitb chunk cmath cmd code codecs codeop collections colorsys compileall concurrent configparser
contextlib contextvars copy copyreg crypt csv ctypes curses dataclasses datetime dbm decimal difflib dis distutils doctest email encodings
ensurepip enum errno faulthandler fcntl filecmp fileinput fnmatch fractions ftplib functools gc genericpath getopt getpass gettext glob
graphlib grp gzip hashlib heapq hmac html http idlelib imaplib imghdr imp importlib inspect io ipaddress itertools json keyword lib2to3
linecache locale logging lzma mailbox mailcap marshal math mimetypes mmap modulefinder msilib msvcrt multiprocessing netrc nis nntplib nt
ntpath nturl2path numbers opcode operator optparse os ossaudiodev pathlib pdb pickle pickletools pipes pkgutil platform plistlib poplib
posix posixpath pprint profile pstats pty pwd py_compile pyclbr pydoc pydoc_data pyexpat queue quopri random re readline reprlib resource
rlcompleter runpy sched secrets select selectors shelve shlex shutil signal site smtpd smtplib sndhdr socket socketserver spwd sqlite3
sre_compile sre_constants sre_parse ssl stat statistics string stringprep struct subprocess sunau symtable sys sysconfig syslog tabnanny
tarfile telnetlib tempfile termios textwrap this threading time timeit tkinter token tokenize tomllib trace traceback tracemalloc tty
turtle turtledemo types typing unicodedata unittest urllib uu uuid venv warnings wave weakref webbrowser winreg winsound wsgiref xdrlib
xml xmlrpc zipapp zipfile zipimport zlib zoneinfo`.split(/\s+/));

/** The packages .ci/run installs: `package | provides | why` lines, # comments. */
export function parseManifest(text) {
  const entries = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) return;
    const cols = line.split("|").map(c => c.trim());
    if (cols.length !== 3 || !/^[a-z0-9][a-z0-9+.-]+$/.test(cols[0]) || !cols[1] || !cols[2]) {
      throw new Error(`${MANIFEST} line ${i + 1}: expected "debian-package | programs and python:MODULEs it provides | what uses it", got ${JSON.stringify(raw)}`);
    }
    entries.push({ pkg: cols[0], provides: cols[1].split(/\s+/), why: cols[2] });
  });
  return entries;
}

/** This check's own test: its fixture strings name unlisted programs on purpose. */
export const SELF_TEST = "test/ci/test-deps.test.ts";
/** The one test file that names the data kept beside the clone; the others take paths and skip reasons from it. */
export const EXTERNAL_DATA = "test/external-data.ts";

const lineOf = (text, index) => text.slice(0, index).split("\n").length;

/** The first argument of the call whose "(" is at `open`: up to a comma or ")" outside brackets. */
function firstArg(text, open) {
  let depth = 0;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) { if (depth === 0) return text.slice(open + 1, i); depth--; }
    else if (c === "," && depth === 0) return text.slice(open + 1, i);
  }
  return text.slice(open + 1);
}

/** String literals in an expression (quotes and plain template literals); null if it has none. */
function literals(expr) {
  const out = [...expr.matchAll(/"([^"\\]*)"|'([^'\\]*)'|`([^`$\\]*)`/g)].map(m => m[1] ?? m[2] ?? m[3]);
  return out.length ? out : null;
}

/** What an argument expression names: a program (string), or undefined when it cannot be told statically. */
function resolve(expr, text) {
  expr = expr.trim();
  if (expr === "process.execPath") return ["node"];
  const lit = /^("[^"\\]*"|'[^'\\]*'|`[^`$\\]*`)$/.test(expr) ? literals(expr) : null;
  if (lit) return lit;
  if (/^[A-Za-z_$][\w$]*$/.test(expr)) {
    const def = new RegExp(`\\bconst\\s+${expr.replace(/\$/g, "\\$")}\\s*(?::[^=]+)?=\\s*([^;\\n]+)`).exec(text);
    if (def) return literals(def[1]) ?? undefined;
  }
  return undefined;
}

/**
 * What one test file needs: programs it spawns, Python modules the Python in it imports, Node packages it
 * imports, and spawn targets it names in a way this scan cannot follow.
 */
export function scanSource(text) {
  const programs = [], python = [], packages = [], unresolved = [];
  for (const m of text.matchAll(/(?<![.\w$])(spawn|spawnSync|execFile|execFileSync|exec|execSync)\s*\(/g)) {
    const arg = firstArg(text, m.index + m[0].length - 1);
    const names = resolve(arg, text);
    const line = lineOf(text, m.index);
    if (!names) { unresolved.push({ expr: arg.trim(), line }); continue; }
    // exec/execSync run a shell command line: its first word is the program
    for (const n of names) programs.push({ name: m[1].startsWith("exec") && !m[1].startsWith("execFile") ? n.trim().split(/\s+/)[0] : n, line });
  }
  for (const m of text.matchAll(/\bexecutablePath\s*:\s*([^,}\n]+)/g)) {
    const names = resolve(m[1], text);
    if (!names) unresolved.push({ expr: m[1].trim(), line: lineOf(text, m.index) });
    else for (const n of names) programs.push({ name: n, line: lineOf(text, m.index) });
  }
  // Python inside strings: `import a, b as c` or `from a.b import c` alone on its (real or \n-escaped) line.
  // A TypeScript import always has a quoted specifier after it, so it never matches.
  const start = String.raw`(?:^|\n|\\n|[\x60"';])[ \t]*`, end = String.raw`[ \t]*(?=$|\n|\\n|;|[\x60"'])`;
  const name = String.raw`[A-Za-z_][\w.]*(?:[ \t]+as[ \t]+\w+)?`;
  for (const m of text.matchAll(new RegExp(`${start}import[ \\t]+(${name}(?:[ \\t]*,[ \\t]*${name})*)${end}`, "gm"))) {
    for (const part of m[1].split(",")) python.push({ module: part.trim().split(/[ \t.]/)[0], line: lineOf(text, m.index + 1) });
  }
  for (const m of text.matchAll(new RegExp(`${start}from[ \\t]+([A-Za-z_][\\w.]*)[ \\t]+import[ \\t]+[\\w*(]`, "gm"))) {
    python.push({ module: m[1].split(".")[0], line: lineOf(text, m.index + 1) });
  }
  // Static imports are statements (`import … from "x"` at a line's start, possibly over several lines, or
  // `import "x"`); dynamic ones are calls. A `from "…"` inside a comment, a string or a regex is neither.
  const importForms = /^[ \t]*(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"'./][^"']*)["']|^[ \t]*import\s*["']([^"'./][^"']*)["']|\bimport\s*\(\s*["']([^"'./][^"']*)["']|\brequire\s*\(\s*["']([^"'./][^"']*)["']/gm;
  for (const m of text.matchAll(importForms)) {
    const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
    if (spec.startsWith("node:") || builtinModules.includes(spec)) continue;
    packages.push({ name: spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0], line: lineOf(text, m.index) });
  }
  // files outside the repository: ../shared beside the clone, or absolute paths of this machine's layout
  const outside = [...text.matchAll(/["'`(](?:[^"'`\n]*\/)?(?:\.\.\/)+shared\/|["'`](?:\/work|\/home|\/root)\//g)].map(m => ({ line: lineOf(text, m.index) }));
  return { programs, python, packages, unresolved, outside };
}

/** Problems with `files` ({path, text}) against the manifest entries and package.json; [] when none. */
export function checkSources(files, manifest, packageJson) {
  const programs = new Set(["node"]), modules = new Set();
  for (const e of manifest) for (const p of e.provides) (p.startsWith("python:") ? modules : programs).add(p.replace(/^python:/, ""));
  const npm = new Set(Object.keys({ ...packageJson.dependencies, ...packageJson.devDependencies, ...packageJson.optionalDependencies }));
  const problems = [];
  for (const { path, text } of files) {
    const s = scanSource(text);
    for (const p of s.programs) if (!programs.has(p.name)) {
      problems.push(`${path}:${p.line}: runs ${JSON.stringify(p.name)}, which neither npm ci nor .ci/run provides: add its Debian package to ${MANIFEST} (with what uses it and what skips without it), or stop using it`);
    }
    for (const u of s.unresolved) {
      problems.push(`${path}:${u.line}: runs ${u.expr}, a program this check cannot name: spawn a string literal or a const declared in the same file`);
    }
    for (const p of s.python) if (!PYTHON_STDLIB.has(p.module) && !modules.has(p.module)) {
      problems.push(`${path}:${p.line}: Python imports ${JSON.stringify(p.module)}, which a fresh machine lacks (standard library only): add its Debian package (python3-${p.module.toLowerCase()}) as python:${p.module} to ${MANIFEST}, or do without it`);
    }
    if (path !== EXTERNAL_DATA) for (const o of s.outside) {
      problems.push(`${path}:${o.line}: reads a file outside the repository directly: take the path and its skip reason from ${EXTERNAL_DATA} (externalSkip), so a clone without it skips and says why`);
    }
    for (const p of s.packages) if (!npm.has(p.name)) {
      problems.push(`${path}:${p.line}: imports the Node package ${JSON.stringify(p.name)}, which package.json does not list: npm ci will not install it`);
    }
  }
  return problems;
}

/** test/**\/*.ts under `root`, as {path, text}. */
export function testSources(root = ROOT) {
  const out = [];
  (function walk(dir) {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".ts") && relative(root, p) !== SELF_TEST) out.push({ path: relative(root, p), text: readFileSync(p, "utf8") });
    }
  })(join(root, "test"));
  return out;
}

/** What the manifest promises that this machine lacks (after .ci/run installed it, nothing). */
export function checkInstalled(manifest) {
  const missing = [];
  const onPath = name => (process.env.PATH ?? "").split(delimiter).some(d => d && existsSync(join(d, name)));
  for (const e of manifest) for (const p of e.provides) {
    if (p.startsWith("python:")) {
      const mod = p.slice("python:".length);
      if (spawnSync("/usr/bin/python3", ["-c", `import ${mod}`]).status !== 0) missing.push(`${e.pkg}: /usr/bin/python3 cannot import ${mod}`);
    } else if (p.startsWith("/") ? !existsSync(p) : !onPath(p)) missing.push(`${e.pkg}: ${p} is not ${p.startsWith("/") ? "there" : "on PATH"}`);
  }
  return missing;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const manifest = parseManifest(readFileSync(join(ROOT, MANIFEST), "utf8"));
  const files = testSources();
  const problems = checkSources(files, manifest, JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")));
  if (process.argv.includes("--installed")) problems.push(...checkInstalled(manifest).map(m => `not installed: ${m}`));
  if (problems.length) {
    console.error(`check-test-deps: ${problems.length} problem(s)\n` + problems.map(p => "  " + p).join("\n"));
    process.exit(1);
  }
  console.log(`check-test-deps: ${files.length} test files use only what npm ci and ${MANIFEST} provide${process.argv.includes("--installed") ? ", and this machine has all of it" : ""}`);
}
