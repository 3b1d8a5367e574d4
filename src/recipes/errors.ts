// RecipeError lists every problem in a recipe at once, each by its dotted path with a hint.

export interface RecipeProblem {
  /** Dotted path of the offending key ("" for the recipe itself). */
  path: string;
  message: string;
  /** What to do, e.g. `did you mean "beta"?`. */
  hint?: string;
}

export class RecipeError extends Error {
  constructor(
    readonly source: string,
    readonly problems: RecipeProblem[],
    readonly footer?: string,
  ) {
    super(formatProblems(source, problems, footer));
    this.name = "RecipeError";
  }
}

function formatProblems(source: string, problems: RecipeProblem[], footer?: string): string {
  const head = `${source}: ${problems.length} problem${problems.length === 1 ? "" : "s"}`;
  const lines = problems.map(p => `  ${p.path === "" ? "(recipe)" : p.path}: ${p.message}${p.hint ? ` (${p.hint})` : ""}`);
  return [head, ...lines, ...(footer ? [footer] : [])].join("\n");
}
