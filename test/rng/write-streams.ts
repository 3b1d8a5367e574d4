// Records test/fixtures/rng-streams.json (run once, from the code the streams must stay equal to):
//   node --import tsx test/rng/write-streams.ts
import { writeFileSync } from "node:fs";
import { recordStreams } from "./streams.js";

writeFileSync(new URL("../fixtures/rng-streams.json", import.meta.url), JSON.stringify(recordStreams()) + "\n");
