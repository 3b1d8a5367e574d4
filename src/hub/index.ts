// Hugging Face hub ids, the local HF cache, and downloads into it. docs/models.md ("Hub ids") describes the use.
export * from "./errors.js";
export * from "./id.js";
export * from "./env.js";
export * from "./cache.js";
export { downloadSnapshot, type DownloadOptions, type DownloadResult } from "./download.js";
export { downloadSnapshotSync } from "./sync.js";
export { findCached, resolveModelPath, resolveDatasetPath, fetchToCache, type ResolvedDataset, type ResolveOptions } from "./resolve.js";
export { createDownloadProgress, silentProgress, mb, type DownloadProgress } from "./progress.js";
export { resolveRecipeModels, prefetchRecipeDatasets, RECIPE_MODEL_KEYS } from "./recipe.js";
