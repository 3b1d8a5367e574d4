// Python sandbox: a child /usr/bin/python3 in a throwaway directory, run as an unprivileged uid of its own (61000–61255, like `nobody`) under
// `unshare -n -m -p -f --kill-child` (no network; fresh tmpfs over /tmp, /var/tmp and /dev/shm so
// nothing it writes outside its directory survives; its own pid namespace, so every process it
// forks dies with it) and `prlimit` (address space, processes, file size, open files, CPU), killed
// by a wall-clock timer. Where unshare or setpriv is unavailable (no privileges) it falls back to
// prlimit + timeout alone and warns once: then the network and the host's files are reachable.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

export interface SandboxLimits {
  /** Wall-clock limit per run (ms). Default 5000. */
  timeoutMs?: number;
  /** Address-space limit (bytes). Default 512 MiB. */
  memoryBytes?: number;
  /** Process limit for the sandbox user. Default 32. */
  maxProcesses?: number;
  /** Largest file the program may write (bytes). Default 1 MiB. */
  maxFileBytes?: number;
}

/** One test: a Python snippet that raises on failure (`assert f(2) == 4`), or stdin → expected stdout. */
export type CodeTest = string | { input: string; output: string };

const PYTHON = "/usr/bin/python3";
const MAX_OUTPUT = 1 << 20;

const UNSHARE = ["-n", "-m", "-p", "-f", "--mount-proc", "--kill-child"];
/** Inside the mount namespace: the run directory moved to /mnt, then private scratch filesystems over
 * /tmp, /var/tmp and /dev/shm (the host's stay untouched). */
const MOUNTS = "mount --bind \"$PWD\" /mnt && cd /mnt && mount -t tmpfs -o size=64m tmpfs /tmp && mount -t tmpfs -o size=8m tmpfs /var/tmp && mount -t tmpfs -o size=8m tmpfs /dev/shm &&";

/** Unprivileged uids (no passwd entry needed) handed out round-robin to concurrent runs. */
const SANDBOX_UID_BASE = 61000;
const SANDBOX_UIDS = 256;
let nextSlot = 0;

/**
 * Sandboxes running at once. Each costs ~60 ms of namespace set-up and teardown that the kernel largely serialises,
 * so unbounded concurrency only makes every run slower: 128 trivial programs at once took up to 7.9 s each here and
 * 46 of them passed a 5-s limit, as did every call of a 128-episode evaluation with the python tool. Runs beyond the
 * limit wait for a slot, and a run's clock starts when its process does.
 */
export const MAX_SANDBOXES = 2 * Math.max(1, availableParallelism());
let running = 0;
const waiting: (() => void)[] = [];
async function sandboxSlot(): Promise<() => void> {
  if (running >= MAX_SANDBOXES) await new Promise<void>(r => waiting.push(r));
  else running++;
  // a finished run hands its slot straight to the next waiting one (running stays counted)
  return () => { const next = waiting.shift(); if (next) next(); else running--; };
}

let isolation: "full" | "limits-only" | undefined;

/** Whether unshare + setpriv work here (checked once); warns when falling back. */
export function sandboxIsolation(): "full" | "limits-only" {
  if (isolation) return isolation;
  // MOVE37_SANDBOX=limits-only forces the fallback (to test it, or where namespaces misbehave)
  const probe = process.env.MOVE37_SANDBOX === "limits-only" ? { status: 1 } : spawnSync("unshare", [...UNSHARE, "sh", "-c", `${MOUNTS} exec setpriv --reuid=65534 --regid=65534 --clear-groups true`], { timeout: 5000 });
  isolation = probe.status === 0 ? "full" : "limits-only";
  if (isolation === "limits-only") {
    process.emitWarning("unshare/setpriv unavailable: Python code runs with prlimit and a timeout only (network and host files reachable). Run as root or with user namespaces enabled for full isolation.", "Move37SandboxWarning");
  }
  return isolation;
}

// Runs the solution in fresh globals, then each assertion test; reports passes on a duplicated
// stdout descriptor tagged with a nonce read from stdin first (never in the program's environment,
// /proc/self/environ or files), so printing fake passes cannot score.
const HARNESS = `
import os, sys, json
nonce = sys.stdin.readline().strip()
out = os.dup(1)
tests = json.loads(open("tests.json").read())
src = open("solution.py").read()
os.remove("tests.json")
g = {"__name__": "__main__", "__builtins__": __builtins__}
try:
    exec(compile(src, "solution.py", "exec"), g)
except BaseException:
    os._exit(0)
for i, t in enumerate(tests):
    try:
        exec(compile(t, "test", "exec"), g)
        os.write(out, ("%s %d\\n" % (nonce, i)).encode())
    except BaseException:
        pass
os._exit(0)
`;

interface RunResult { stdout: string; timedOut: boolean; code: number | null }

async function runSandboxed(dir: string, args: string[], stdin: string, l: Required<SandboxLimits>): Promise<RunResult> {
  const release = await sandboxSlot();
  try { return await runSandboxedNow(dir, args, stdin, l); } finally { release(); }
}

function runSandboxedNow(dir: string, args: string[], stdin: string, l: Required<SandboxLimits>): Promise<RunResult> {
  const cpuSeconds = Math.max(1, Math.ceil(l.timeoutMs / 1000));
  const limits = [`--as=${l.memoryBytes}`, `--nproc=${l.maxProcesses}`, `--fsize=${l.maxFileBytes}`, "--nofile=64", `--cpu=${cpuSeconds}`, "--core=0"];
  const full = sandboxIsolation() === "full";
  const cmd = full ? "unshare" : "prlimit";
  // each run gets its own unprivileged uid, so the per-user process limit of a fork bomb in one
  // sandbox cannot starve another sandbox running beside it
  const uid = SANDBOX_UID_BASE + (nextSlot++ % SANDBOX_UIDS);
  const inner = ["prlimit", ...limits, "--", "setpriv", `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "--", PYTHON, "-I", "-S", ...args];
  const argv = full
    ? [...UNSHARE, "sh", "-c", `${MOUNTS} exec "$@"`, "sh", ...inner]
    : [...limits, "--", PYTHON, "-I", "-S", ...args];
  return new Promise(resolve => {
    const child = spawn(cmd, argv, { cwd: dir, env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", HOME: dir, LANG: "C.UTF-8" }, stdio: ["pipe", "pipe", "ignore"], detached: true });
    let stdout = "", timedOut = false, done = false;
    const kill = () => { try { process.kill(-child.pid!, "SIGKILL"); } catch { /* already gone */ } };
    const timer = setTimeout(() => { timedOut = true; kill(); }, l.timeoutMs);
    child.stdout.on("data", (b: Buffer) => { if (stdout.length < MAX_OUTPUT) stdout += b.toString("utf8"); else kill(); });
    child.stdin.on("error", () => { /* the program may exit before reading its input */ });
    child.stdin.end(stdin);
    const finish = (code: number | null) => { if (done) return; done = true; clearTimeout(timer); kill(); resolve({ stdout, timedOut, code }); };
    child.on("error", () => finish(null));
    child.on("close", code => finish(code));
  });
}

function defaults(l: SandboxLimits): Required<SandboxLimits> {
  return { timeoutMs: l.timeoutMs ?? 5000, memoryBytes: l.memoryBytes ?? 512 * 2 ** 20, maxProcesses: l.maxProcesses ?? 32, maxFileBytes: l.maxFileBytes ?? 2 ** 20 };
}

/** Fraction of tests a Python program passes (0 when it crashes, loops or misbehaves). */
export async function runPythonTests(program: string, tests: CodeTest[], limits: SandboxLimits = {}): Promise<number> {
  if (tests.length === 0) return 0;
  const l = defaults(limits);
  const dir = mkdtempSync(join(tmpdir(), "move37-py-"));
  chmodSync(dir, 0o777);
  try {
    writeFileSync(join(dir, "solution.py"), program, { mode: 0o644 });
    let passed = 0;
    const asserts = tests.map((t, i) => ({ t, i })).filter(x => typeof x.t === "string");
    if (asserts.length > 0) {
      const nonce = randomBytes(16).toString("hex");
      writeFileSync(join(dir, "tests.json"), JSON.stringify(asserts.map(x => x.t)), { mode: 0o644 });
      writeFileSync(join(dir, "harness.py"), HARNESS, { mode: 0o644 });
      const r = await runSandboxed(dir, ["harness.py"], nonce + "\n", l);
      const ok = new Set(r.stdout.split("\n").filter(line => line.startsWith(nonce + " ")).map(line => line.slice(nonce.length + 1)));
      passed += ok.size;
    }
    for (const t of tests) {
      if (typeof t === "string") continue;
      const r = await runSandboxed(dir, ["solution.py"], t.input, l);
      if (!r.timedOut && r.code === 0 && r.stdout.trim() === t.output.trim()) passed++;
    }
    return passed / tests.length;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Runs a program with its stderr on its stdout (the model should read its tracebacks), no input.
const RUNNER = `
import os, sys
os.dup2(1, 2)
src = open("program.py").read()
os.remove("runner.py")
g = {"__name__": "__main__", "__builtins__": __builtins__}
try:
    exec(compile(src, "program.py", "exec"), g)
except SystemExit:
    pass
except BaseException as e:
    import traceback
    # the program's frames only (the runner's exec frame dropped)
    print("".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next)), end="")
sys.stdout.flush()
`;

/** What a program printed (stdout and stderr together), whether it timed out, and its exit code. */
export interface ProgramRun { output: string; timedOut: boolean; code: number | null }

/** Runs a Python program once in a fresh sandbox process (the same isolation and limits as runPythonTests). */
export async function runPythonProgram(program: string, limits: SandboxLimits = {}): Promise<ProgramRun> {
  const l = defaults(limits);
  const dir = mkdtempSync(join(tmpdir(), "move37-py-"));
  chmodSync(dir, 0o777);
  try {
    writeFileSync(join(dir, "program.py"), program, { mode: 0o644 });
    writeFileSync(join(dir, "runner.py"), RUNNER, { mode: 0o644 });
    const r = await runSandboxed(dir, ["runner.py"], "", l);
    return { output: r.stdout, timedOut: r.timedOut, code: r.code };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
