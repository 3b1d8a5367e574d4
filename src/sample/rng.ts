// The sampling generator (xoshiro128** with forStream) lives in src/rng.ts with every other random stream.
export { Rng } from "../rng.js";
