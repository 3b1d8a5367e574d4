import { TaskError } from "../tasks/types.js";

/**
 * A named failure of dataset configuration or data: says which file, row and column, and what to do.
 * A TaskError, so callers that handle problem-set errors handle these too.
 */
export class DatasetError extends TaskError {
  override name = "DatasetError";
}
