// The default corpus stream (every genre at its default weight), which models/base-tiny was made from. A genre added
// at weight 0 must leave it unchanged: tests compare its first documents with the hash recorded before the worded
// and tools genres existed.
import { createHash } from "node:crypto";
import { takeDocuments } from "../../src/corpus/corpus.js";

/** sha256 of the first 2000 documents of seed 11 (`genre\ttext`, one per line), recorded before the worded genre. */
export const DEFAULT_STREAM_SHA256 = "4e0e671acd8ebc1d3c88fa8774de6b574cfe6002869d4c3db922ce610e6211ed";

/** The first 2000 documents of the default stream (seed 11) and their hash, to compare with DEFAULT_STREAM_SHA256. */
export function defaultStream() {
  const docs = takeDocuments({ seed: 11 }, 2000);
  return { docs, sha256: createHash("sha256").update(docs.map(d => `${d.genre}\t${d.text}`).join("\n")).digest("hex") };
}
