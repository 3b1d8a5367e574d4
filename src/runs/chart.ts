// A metric of a run as a terminal chart: `move37 runs show` and the GRPO closing report draw with it.
import asciichart from "asciichart";
import { formatValue } from "./progress.js";
import type { MetricRow } from "./read.js";

/** Averages `values` into at most `width` buckets so a long run fits the terminal. */
export function downsample(values: number[], width: number): number[] {
  if (values.length <= width) return values;
  const out: number[] = [];
  for (let b = 0; b < width; b++) {
    const lo = Math.floor((b * values.length) / width);
    const hi = Math.floor(((b + 1) * values.length) / width);
    let s = 0;
    for (let i = lo; i < hi; i++) s += values[i];
    out.push(s / (hi - lo));
  }
  return out;
}

export function metricChart(rows: MetricRow[], name: string, width: number): string {
  const points = rows.filter(r => typeof r[name] === "number" && Number.isFinite(r[name]));
  const values = downsample(points.map(r => r[name] as number), width);
  if (values.length === 0) return `${name}: no values`;
  const chart = asciichart.plot(values, { height: 8, format: (x: number) => formatValue(x).padStart(9) });
  return `${name}  (steps ${points[0].step}–${points.at(-1)!.step})\n${chart}`;
}
