/** A GRPO input (batch shapes, reward table, loss options) that cannot be used as given. */
export class GRPOInputError extends Error {
  override name = "GRPOInputError";
}
