// `move37 dashboard [RUN_DIR...]`: serves the live page for runs (default: every run in ./runs).
import type { Command } from "commander";
import { startDashboard } from "../dashboard/server.js";
import { withExamples } from "./help.js";
import { output } from "./output.js";

export function register(program: Command): void {
  const cmd = program
    .command("dashboard")
    .description("serve a live web page of runs: curves of every metric, runs overlaid, and sampled reasoning traces")
    .argument("[runs...]", "run directories or folders of runs (default: runs)")
    .option("--port <port>", "port (0 = any free port)", "3737")
    .option("--host <host>", "interface to listen on (0.0.0.0 to share on the network)", "127.0.0.1")
    .option("--exit-with <pid>", "stop when process PID ends (`train --dashboard` passes its own)")
    .action(async (paths: string[], opts: { port: string; host: string; exitWith?: string }) => {
      const dash = await startDashboard({ paths: paths.length > 0 ? paths : ["runs"], port: Number(opts.port), host: opts.host });
      output.out(`dashboard: ${dash.url}\n`);
      const stop = () => void dash.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      if (opts.exitWith !== undefined) {
        const pid = Number(opts.exitWith);
        setInterval(() => {
          try {
            process.kill(pid, 0);
          } catch {
            stop();
          }
        }, 1000).unref();
      }
    });
  withExamples(cmd, ["move37 dashboard", "move37 dashboard runs/first-try runs/second-try --port 8080", "move37 train r1-zero-tiny --dashboard"]);
}
