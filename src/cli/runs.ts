// `move37 runs ls` and `move37 runs show RUN`: run directories read back in the terminal.
import { basename, join } from "node:path";
import type { Command } from "commander";
import { didYouMean } from "../recipes/hints.js";
import { formatDuration, formatValue } from "../runs/progress.js";
import { metricChart } from "../runs/chart.js";
import { isRunDir, listRunDirs, liveStatus, metricNames, readMetrics, readRunInfo, type MetricRow } from "../runs/read.js";
import { RunNotFoundError } from "../runs/run.js";
import { orderMetrics } from "../dashboard/page/series.js";
import { formatTable } from "../runs/table.js";
import { commandGroup, withExamples } from "./help.js";
import { output } from "./output.js";

/** Metrics charted by default, in this order, when present; otherwise the first four in the dashboard's order. */
const DEFAULT_CHARTS = ["reward", "accuracy", "completions/mean_length", "kl", "loss", "elo"];

/** A run by path, or by name inside the runs folder. */
export function findRun(run: string, runsDir: string): string {
  if (isRunDir(run)) return run;
  const inRoot = join(runsDir, run);
  if (isRunDir(inRoot)) return inRoot;
  const guess = didYouMean(run, listRunDirs(runsDir).map(d => basename(d)));
  throw new RunNotFoundError(guess ? `${run} (did you mean "${guess}"?)` : run);
}

function duration(started: string, ended: string | null): string {
  return formatDuration(((ended ? Date.parse(ended) : Date.now()) - Date.parse(started)) / 1000);
}

/** Metrics that say how a run is doing, whatever its trainer; `runs ls` shows the first two present. */
const HEADLINE = ["reward", "accuracy", "loss", "eval_loss", "elo", "win_rate"];

function headline(rows: MetricRow[]): string {
  const latest = (name: string) => rows.filter(r => typeof r[name] === "number").at(-1)?.[name];
  return HEADLINE.filter(n => latest(n) !== undefined).slice(0, 2).map(n => `${n} ${formatValue(latest(n))}`).join("  ") || "-";
}

export function runsTable(runsDir: string): string {
  const rows = listRunDirs(runsDir).map(dir => {
    const info = readRunInfo(dir);
    const metrics = readMetrics(dir);
    const last = metrics.at(-1);
    return [
      basename(dir),
      info?.trainer ?? "-",
      liveStatus(info),
      info ? info.started.slice(0, 16).replace("T", " ") : "-",
      info ? duration(info.started, info.ended) : "-",
      last ? String(last.step) : "-",
      headline(metrics),
    ];
  });
  if (rows.length === 0) return `no runs in ${runsDir}`;
  return formatTable(["run", "trainer", "status", "started", "time", "step", "latest"], rows);
}

export function metricSummary(rows: MetricRow[], names: string[]): string {
  const table = names.map(name => {
    const vals = rows.map(r => r[name]).filter((v): v is number => typeof v === "number" && Number.isFinite(v));
    return [name, String(vals.length), formatValue(vals[0]), formatValue(vals.at(-1)), formatValue(Math.min(...vals)), formatValue(Math.max(...vals))];
  });
  return formatTable(["metric", "n", "first", "last", "min", "max"], table);
}

export function showRun(dir: string, wanted: string[] | undefined, width: number): string {
  const info = readRunInfo(dir);
  const rows = readMetrics(dir);
  const names = metricNames(rows);
  const usual = DEFAULT_CHARTS.filter(n => names.includes(n));
  const charted = wanted ?? (usual.length > 0 ? usual : orderMetrics(names).slice(0, 4));
  const head = info
    ? [
        `run      ${info.name}  (${dir})`,
        `trainer  ${info.trainer}    status ${liveStatus(info)}${info.error ? `: ${info.error}` : ""}`,
        `time     ${info.started} → ${info.ended ?? "now"}  (${duration(info.started, info.ended)})`,
        `git      ${info.git ? `${info.git.commit.slice(0, 12)}${info.git.dirty ? " (dirty)" : ""}` : "-"}`,
        `machine  ${info.machine.cpu}, ${info.machine.cores} cores, node ${info.machine.node}`,
      ]
    : [`run      ${dir}`];
  const parts = [head.join("\n")];
  if (rows.length > 0) parts.push(metricSummary(rows, names));
  for (const name of charted) parts.push(metricChart(rows, name, width));
  return parts.join("\n\n");
}

export function register(program: Command): void {
  const runs = commandGroup(program, "runs", "list and inspect run directories", ["move37 runs ls", "move37 runs show r1-zero-tiny-20250101-120000"]);
  withExamples(
    runs
      .command("ls")
      .description("table of runs: trainer, status, time, last step, reward, accuracy")
      .option("--runs-dir <dir>", "folder that holds run directories", "runs")
      .action((opts: { runsDir: string }) => {
        output.out(runsTable(opts.runsDir) + "\n");
      }),
    ["move37 runs ls", "move37 runs ls --runs-dir /data/runs"],
  );
  withExamples(
    runs
      .command("show")
      .description("a run's summary table and terminal charts of its metrics")
      .argument("<run>", "run directory or run name")
      .option("--metrics <names>", "comma-separated metrics to chart (default: reward, accuracy, length, KL, loss, Elo present)")
      .option("--width <n>", "chart width in points", "60")
      .option("--runs-dir <dir>", "folder that holds run directories", "runs")
      .action((run: string, opts: { metrics?: string; width: string; runsDir: string }) => {
        const dir = findRun(run, opts.runsDir);
        const wanted = opts.metrics?.split(",").map(s => s.trim()).filter(Boolean);
        output.out(showRun(dir, wanted, Number(opts.width)) + "\n");
      }),
    ["move37 runs show runs/first-try", "move37 runs show first-try --metrics reward,kl,entropy"],
  );
}
