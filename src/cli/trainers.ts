// Every trainer, listed: the one array `move37 train`, `move37 selfplay` and `move37 config schema` pick a recipe's
// `trainer:` from. A new trainer is a plain Trainer object (src/recipes/registry.ts) exported by its module and
// named here.
import type { Trainer } from "../recipes/registry.js";
import { pretrain } from "../train/pretrain.js";
import { grpo } from "../train/grpo-trainer.js";
import { sft } from "../train/sft.js";
import { distill } from "../train/distill.js";
import { rewardModel } from "../train/reward-model.js";
import { pipeline } from "../train/pipeline.js";
import { rlhfVsRl } from "../train/reward-model-experiment.js";
import { alphazero } from "../selfplay/alphazero.js";
import { slPolicy } from "../selfplay/supervised.js";
import { alphazeroDistributed } from "../selfplay/distributed/trainer.js";

export const TRAINERS: readonly Trainer[] = [pretrain, grpo, sft, distill, rewardModel, pipeline, rlhfVsRl, alphazero, slPolicy, alphazeroDistributed];
