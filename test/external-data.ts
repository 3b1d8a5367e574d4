// External data the tests read from beside the repository (../shared/data/external: Math-Verify's cases,
// Pons' Connect Four positions; not written by this project, see its README.md). CI has it there; a
// clone without it skips those tests and says so.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const EXTERNAL_DIR = fileURLToPath(new URL("../../shared/data/external", import.meta.url));

/** node:test `skip` option: false when `path` exists, otherwise the reason. */
export function externalSkip(path: string): string | false {
  return existsSync(path) ? false : `${path} is absent: external data kept beside the clone in ../shared/data/external (CI has it there; see its README.md)`;
}
