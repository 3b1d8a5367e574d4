/** Reads fixtures written by bench/peers/torch_model.py: NAME.json (metadata + tensor index) and NAME.bin (raw little-endian f32). */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface Fixture {
  meta: Record<string, any>;
  get(name: string): Float32Array;
  shape(name: string): number[];
  ints(name: string): Int32Array;
}

export function loadFixture(name: string): Fixture {
  const base = fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
  const meta = JSON.parse(readFileSync(base + ".json", "utf8"));
  const bytes = new Uint8Array(readFileSync(base + ".bin")); // own, aligned copy
  const f32 = new Float32Array(bytes.buffer);
  const entry = (n: string): { shape: number[]; offset: number } => {
    const e = meta.tensors[n];
    if (!e) throw new Error(`fixture ${name} has no tensor ${n}`);
    return e;
  };
  const get = (n: string) => {
    const e = entry(n);
    return f32.subarray(e.offset / 4, e.offset / 4 + e.shape.reduce((a, b) => a * b, 1));
  };
  return { meta, get, shape: n => entry(n).shape, ints: n => Int32Array.from(get(n)) };
}
