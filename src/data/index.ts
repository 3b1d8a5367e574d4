// Problem sets from files (docs/datasets.md).
export { completionRow, DatasetConfigSchema, DatasetError, datasetSplit, loadDataset, type DatasetConfig, type DatasetConfigInput, type LoadedDataset } from "./dataset.js";
export { ANSWER_EXTRACTORS, boxedAnswer, extractAnswer, gsm8kAnswer, type AnswerExtractor } from "./answers.js";
export { CANONICAL_COLUMNS, type CanonicalColumn, type ColumnMap } from "./rows.js";
