export { GRPOConfigSchema, parseGRPOConfig, lossOptionsOf, rewardWeightsOf, type GRPOConfig, type GRPOConfigInput } from "./config.js";
export { combineRewards, computeAdvantages, nanMeanStd, ADVANTAGE_EPS, type Advantages, type ScaleRewards } from "./advantages.js";
export { completionMask, type CompletionMask } from "./mask.js";
export { grpoLoss, type LossInput, type LossOptions, type LossResult, type LossMetrics, type LossType, type ImportanceSamplingLevel } from "./loss.js";
export { informativeGroups, dataPosition, samplingSeed, MAX_SAMPLING_ROUNDS } from "./dynamic.js";
export { rewardMetrics, completionMetrics, healthWarnings } from "./metrics.js";
export { GRPOInputError } from "./errors.js";
export { packBatch, type PackedBatch } from "./batch.js";
export { grpoStep, type GRPOStepBatch, type GRPOStepConfig, type GRPOStepOptions, type GRPOStepResult, type StepRow } from "./step.js";
