// One finished self-play game as it travels through Redis: its positions (input planes, visit-count
// policy, result for the mover) with an id that makes it countable exactly once.
import type { Game } from "../games/game.js";
import { ReplayBuffer } from "../replay.js";

export interface GameRecord {
  /** Unique per game (worker id + counter + random suffix): the trainer dedupes on it. */
  id: string;
  worker: string;
  /** Weights version the game was played with. */
  version: number;
  game: Game["name"];
  x: Float32Array;   // [plies, I]
  pi: Float32Array;  // [plies, A]
  z: Float32Array;   // [plies]: +1 the mover won, −1 lost, 0 draw
}

const b64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");

function f32(text: unknown): Float32Array | undefined {
  if (typeof text !== "string") return undefined;
  const buf = Buffer.from(text, "base64");
  if (buf.byteLength % 4 !== 0) return undefined;
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

export function encodeRecord(r: GameRecord): string {
  return JSON.stringify({ id: r.id, worker: r.worker, version: r.version, game: r.game, x: b64(r.x), pi: b64(r.pi), z: b64(r.z) });
}

/** The record, or undefined when the text is not a well-formed game of `game` (a foreign or corrupt entry). */
export function decodeRecord(text: string, game: Game): GameRecord | undefined {
  let o: Record<string, unknown>;
  try { o = JSON.parse(text) as Record<string, unknown>; } catch { return undefined; }
  if (!o || typeof o.id !== "string" || o.game !== game.name || typeof o.version !== "number") return undefined;
  const x = f32(o.x), pi = f32(o.pi), z = f32(o.z);
  if (!x || !pi || !z || z.length === 0 || z.length > game.maxPlies || x.length !== z.length * game.inputSize || pi.length !== z.length * game.actions) return undefined;
  return { id: o.id, worker: String(o.worker), version: o.version, game: game.name, x, pi, z };
}

/**
 * A replay buffer that records what playSelfPlayGames adds and splits it back into games: self-play
 * adds each finished game's positions together, in order, and every game's first position is the
 * initial one, which no later position equals (stones are only ever added).
 */
export class GameRecorder extends ReplayBuffer {
  private readonly initial: Float32Array;

  constructor(game: Game, maxGames: number) {
    super(game, maxGames * game.maxPlies);
    this.initial = new Float32Array(game.inputSize);
    game.initial().encode(this.initial, 0);
  }

  /** The recorded games as [x, pi, z] slices (copies). */
  games(): Array<{ x: Float32Array; pi: Float32Array; z: Float32Array }> {
    const { inputSize: I, actions: A } = this.game;
    const starts: number[] = [];
    for (let i = 0; i < this.size; i++) if (this.initial.every((v, k) => this.x[i * I + k] === v)) starts.push(i);
    return starts.map((s, j) => {
      const e = starts[j + 1] ?? this.size;
      return { x: this.x.slice(s * I, e * I), pi: this.pi.slice(s * A, e * A), z: this.z.slice(s, e) };
    });
  }
}
