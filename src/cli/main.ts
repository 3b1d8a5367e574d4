// Runs the CLI; a user-facing error (a named error class) prints its message alone, anything else its stack.
import { buildProgram } from "./program.js";

const BUILTIN_ERRORS = new Set(["Error", "TypeError", "RangeError", "ReferenceError", "SyntaxError"]);

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  const named = err instanceof Error && !BUILTIN_ERRORS.has(err.name);
  process.stderr.write(`move37: ${named && !process.env.MOVE37_DEBUG ? err.message : err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
}
