// Plain aligned text tables for terminal output.

/** Left-aligned columns separated by two spaces; numbers-looking cells are right-aligned. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? "").length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every(r => /^-?[\d.e+-]+$|^-$/.test(r[i] ?? "")));
  const line = (cells: string[]) =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(header), line(widths.map(w => "-".repeat(w))), ...rows.map(line)].join("\n");
}
