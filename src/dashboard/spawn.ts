// `train --dashboard`: the dashboard in its own process, so serving pages never takes time from training.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const BIN = fileURLToPath(new URL("../../bin/move37.js", import.meta.url));

export interface DashboardProcess {
  url: string;
  /** Resolves when the dashboard process ends. */
  exited: Promise<void>;
  stop(): void;
}

export class DashboardStartError extends Error {
  constructor(detail: string) {
    super(`the dashboard did not start: ${detail}; try \`move37 dashboard RUN_DIR --port 0\` to see why`);
    this.name = "DashboardStartError";
  }
}

/** Starts `move37 dashboard DIRS --port PORT` and resolves with the URL it prints on its first line. */
export function spawnDashboard(dirs: string[], port: number): Promise<DashboardProcess> {
  // Its own process group: the Ctrl-C that asks training to stop gracefully must not take the page down;
  // --exit-with ends it if this process dies without the chance to stop it.
  const child = spawn(process.execPath, [BIN, "dashboard", ...dirs, "--port", String(port), "--exit-with", String(process.pid)], {
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  const exited = new Promise<void>(resolve => child.once("exit", () => resolve()));
  const stop = () => {
    if (child.exitCode === null) child.kill("SIGTERM");
  };
  process.once("exit", stop);
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", line => {
      const url = /https?:\/\/\S+/.exec(line)?.[0];
      if (url) resolve({ url, exited, stop });
      else reject(new DashboardStartError(line));
    });
    child.once("exit", code => reject(new DashboardStartError(`it exited with code ${code}`)));
  });
}
