/** A rollout request that failed for good: a 4xx answer, or retries used up. */
export class RolloutRequestError extends Error {
  constructor(message: string) { super(message); this.name = "RolloutRequestError"; }
}

/** The server's answer lacks what training needs (token ids, log-probs) or does not match the request. */
export class RolloutResponseError extends Error {
  constructor(message: string) { super(message); this.name = "RolloutResponseError"; }
}

/** Rollout settings that cannot work together with the trainer's. */
export class RolloutConfigError extends Error {
  constructor(message: string) { super(message); this.name = "RolloutConfigError"; }
}
