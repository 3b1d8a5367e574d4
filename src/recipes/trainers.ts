// Every trainer module, imported for its registerTrainer call: the one list `move37 train` dispatches over.
import "../train/pretrain.js";
import "../train/grpo-trainer.js";
import "../selfplay/alphazero.js";
import "../selfplay/supervised.js";
import "../train/sft.js";
import "../train/distill.js";
import "../train/pipeline.js";
import "../train/reward-model.js";
import "../train/reward-model-experiment.js";
import "../selfplay/distributed/trainer.js";
