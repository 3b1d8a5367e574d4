// Starts `move37 serve` as a real child process on a free port, as a user would, and stops it.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/move37.js", import.meta.url));

export async function spawnServe(modelDir: string, args: string[] = []): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [BIN, "serve", modelDir, "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "", err = "";
  child.stderr.on("data", d => { err += d; });
  const url = await new Promise<string>((ok, fail) => {
    child.stdout.on("data", d => {
      out += d;
      const m = /at (http:\/\/\S+\/v1)/.exec(out);
      if (m) ok(m[1]);
    });
    child.once("exit", code => fail(new Error(`move37 serve exited (${code}) before listening: ${err}`)));
  });
  return {
    url, pid: child.pid!,
    stop: () => new Promise<void>(done => {
      if (child.exitCode !== null || child.signalCode !== null) return done(); // already gone (a test may SIGKILL it)
      child.once("exit", () => done());
      child.kill("SIGTERM");
    }),
  };
}
