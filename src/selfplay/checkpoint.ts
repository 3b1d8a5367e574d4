import type { Backend } from "../engine/backend.js";
import { SafetensorsFile, writeSafetensors, type TensorData } from "../model/io/safetensors.js";
import { getGame } from "./games/index.js";
import type { Game } from "./games/game.js";
import type { AdamW } from "../train/optimizer.js";
import { NetworkConfigSchema, createNetwork, networkConfigOf, shapeFor, type NetworkConfig, type PolicyValueNetwork } from "./network.js";

/**
 * A self-play checkpoint is one safetensors file (written atomically by the model io): the
 * network's named F32 tensors, optionally the AdamW moments ("optim.m", "optim.v") for resume and
 * companion networks of the same shape ("<prefix>.<tensor>", e.g. AlphaZero's best network next to
 * its candidate, so that one atomic file holds both), and __metadata__.move37 = JSON {game,
 * network config, optimizer step, …caller's fields}.
 */
export interface CheckpointMeta {
  game: string;
  network: NetworkConfig;
  /** AdamW steps taken (the optimizer's t; 0 in a file saved without the optimizer). */
  step: number;
  [k: string]: unknown;
}

export class NetworkCheckpointError extends Error {
  constructor(path: string, why: string) {
    super(`checkpoint ${path}: ${why}; pass a file written by \`move37 selfplay\` (e.g. runs/<name>/checkpoints/best.safetensors)`);
    this.name = "NetworkCheckpointError";
  }
}

const f32 = (x: Float32Array | Float64Array): Float32Array => x instanceof Float32Array ? x : Float32Array.from(x);

const netTensors = (net: PolicyValueNetwork, prefix = ""): TensorData[] =>
  net.params.map(p => ({ name: prefix + p.name, shape: p.shape, data: f32(p.data) }));

/**
 * The network config a checkpoint records: an MLP's as it always was ({hidden, blocks}, which every reader of older
 * files parses to kind mlp), other kinds in full.
 */
export function checkpointNetworkConfig(net: PolicyValueNetwork): NetworkConfig {
  const c = networkConfigOf(net.shape);
  return c.kind === "mlp" ? { hidden: c.hidden, blocks: c.blocks } as NetworkConfig : c;
}

/** Saves `net` (and `optimizer`'s moments and step, for resume; and `companions`) to `path`. */
export function saveCheckpoint(path: string, game: Game, net: PolicyValueNetwork, extra: Record<string, unknown> = {}, optimizer: AdamW | null = null,
  companions: Record<string, PolicyValueNetwork> = {}): void {
  const tensors = netTensors(net);
  for (const [prefix, c] of Object.entries(companions)) tensors.push(...netTensors(c, `${prefix}.`));
  if (optimizer) tensors.push({ name: "optim.m", shape: [net.size], data: optimizer.m }, { name: "optim.v", shape: [net.size], data: optimizer.v });
  const meta: CheckpointMeta = { ...extra, game: game.name, network: checkpointNetworkConfig(net), step: optimizer?.t ?? 0 };
  writeSafetensors(path, tensors, "F32", { move37: JSON.stringify(meta) });
}

export interface LoadedCheckpoint {
  game: Game; net: PolicyValueNetwork; meta: CheckpointMeta;
  /** The AdamW state saved with the network (`optimizer.load(it)` to continue), null when the file has none. */
  optimizer: { t: number; m: Float32Array; v: Float32Array } | null;
  /** The requested companion networks the file holds (a file from before they were saved has none). */
  companions: Record<string, PolicyValueNetwork>;
}

export function loadCheckpoint(path: string, backend: Backend, companions: string[] = []): LoadedCheckpoint {
  let f: SafetensorsFile;
  try { f = new SafetensorsFile(path); } catch (e) { throw new NetworkCheckpointError(path, `cannot be read as safetensors (${(e as Error).message})`); }
  try {
    const raw = f.header.metadata?.move37;
    if (!raw) throw new NetworkCheckpointError(path, "has no move37 self-play metadata");
    const meta = JSON.parse(raw) as CheckpointMeta;
    const game = getGame(meta.game);
    const shape = shapeFor(NetworkConfigSchema.parse(meta.network), game);
    const net = createNetwork(shape, backend);
    const read = (name: string, into: Float32Array | Float64Array): boolean => {
      const e = f.entry(name);
      if (!e) return false;
      if (e.shape.reduce((a, b) => a * b, 1) !== into.length)
        throw new NetworkCheckpointError(path, `tensor ${name} has shape [${e.shape}], expected ${into.length} values`);
      into.set(f.read(name));
      return true;
    };
    /** All of `into`'s tensors (true), none (false), or an error for a file with only some. */
    const readNet = (into: PolicyValueNetwork, prefix = ""): boolean => {
      const missing = into.params.filter(p => !read(prefix + p.name, p.data)).map(p => prefix + p.name);
      if (missing.length > 0 && missing.length < into.params.length) throw new NetworkCheckpointError(path, `tensor ${missing[0]} is missing`);
      return missing.length === 0;
    };
    if (!readNet(net)) throw new NetworkCheckpointError(path, "has none of the network's tensors");
    const m = new Float32Array(net.size), v = new Float32Array(net.size);
    const optimizer = read("optim.m", m) && read("optim.v", v) ? { t: meta.step, m, v } : null;
    const loaded: Record<string, PolicyValueNetwork> = {};
    for (const prefix of companions) {
      const c = createNetwork(shape, backend);
      if (readNet(c, `${prefix}.`)) loaded[prefix] = c;
    }
    return { game, net, meta, optimizer, companions: loaded };
  } finally {
    f.close();
  }
}
