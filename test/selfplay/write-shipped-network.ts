// Records test/fixtures/shipped-connect4.json (once): node --import tsx test/selfplay/write-shipped-network.ts
import { writeFileSync } from "node:fs";
import { recordShipped } from "./shipped-network.js";

writeFileSync(new URL("../fixtures/shipped-connect4.json", import.meta.url), JSON.stringify(recordShipped()) + "\n");
