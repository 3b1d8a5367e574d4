// The task generator (mulberry32 with mixSeed) lives in src/rng.ts with every other random stream.
export { makeRng, mixSeed, shuffle, type TaskRng } from "../rng.js";
