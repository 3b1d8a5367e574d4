// Records test/fixtures/connect4-NAME-60min.json (once per network): node --import tsx test/selfplay/write-shipped-network.ts cnn|mlp
import { writeFileSync } from "node:fs";
import { fixtureUrl, RECORDED, record, type RecordedName } from "./shipped-network.js";

const name = process.argv[2];
if (name === undefined || !Object.hasOwn(RECORDED, name)) throw new Error(`name a network: ${Object.keys(RECORDED).join(" or ")}`);
writeFileSync(fixtureUrl(name as RecordedName), JSON.stringify(record(name as RecordedName)) + "\n");
