// The finished-games queue, trainer side. A claim is an atomic BLMOVE from `games` to `processing`; a
// claimed game stays in `processing` until the trainer has trained on it and written a checkpoint, and
// only then is it acknowledged (its id added to `consumed` and the entry removed, in one MULTI). So:
// a worker that dies loses only the game it was playing (a finished game is one LPUSH, atomic); a
// trainer that dies leaves its unacknowledged claims in `processing`, and the next trainer puts them
// back in the queue; a game sent twice (a client retry) is counted once, by id.
import type { Redis } from "ioredis";
import type { Game } from "../games/game.js";
import type { Keys } from "./keys.js";
import { decodeRecord, encodeRecord, type GameRecord } from "./record.js";

/** Worker side: pushes finished games (one LPUSH: all of them or none). */
export async function pushGames(redis: Redis, keys: Keys, records: GameRecord[]): Promise<void> {
  if (records.length > 0) await redis.lpush(keys.games, ...records.map(encodeRecord));
}

export interface Claimed { record: GameRecord; raw: string }

export class GameQueue {
  /** Ids claimed since the last acknowledgement, so a duplicate in flight is dropped too. */
  private readonly pending = new Map<string, string>();
  duplicates = 0;
  malformed = 0;

  /** `blocking` is a connection of its own: BLMOVE holds it while it waits. */
  constructor(private readonly redis: Redis, private readonly blocking: Redis, private readonly keys: Keys, private readonly game: Game) {}

  /** Moves games a previous trainer claimed but never acknowledged back to the queue; returns how many. */
  async requeueUnacknowledged(): Promise<number> {
    let n = 0;
    while (await this.redis.lmove(this.keys.processing, this.keys.games, "LEFT", "RIGHT")) n++;
    return n;
  }

  /**
   * The next new game, waiting up to `timeoutS` seconds; null on timeout. Duplicates (already consumed
   * or already claimed) and malformed entries are dropped from `processing` and counted.
   */
  async claim(timeoutS: number): Promise<Claimed | null> {
    for (;;) {
      const raw = await this.blocking.blmove(this.keys.games, this.keys.processing, "RIGHT", "LEFT", timeoutS);
      if (raw === null) return null;
      const record = decodeRecord(raw, this.game);
      if (!record) { this.malformed++; await this.redis.lrem(this.keys.processing, 1, raw); continue; }
      if (this.pending.has(record.id) || (await this.redis.sismember(this.keys.consumed, record.id)) === 1) {
        this.duplicates++;
        await this.redis.lrem(this.keys.processing, 1, raw);
        continue;
      }
      this.pending.set(record.id, raw);
      return { record, raw };
    }
  }

  /**
   * Acknowledges games a checkpoint already holds, wherever they are (claimed by a trainer that died
   * between writing that checkpoint and acknowledging them, or already acknowledged): call on resume,
   * before requeueUnacknowledged, so they are not trained on twice.
   */
  async settle(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const wanted = new Set(ids);
    const tx = this.redis.multi().sadd(this.keys.consumed, ...ids);
    for (const raw of await this.redis.lrange(this.keys.processing, 0, -1)) {
      const r = decodeRecord(raw, this.game);
      if (r && wanted.has(r.id)) tx.lrem(this.keys.processing, 1, raw);
    }
    await tx.exec();
  }

  /** Acknowledges every game claimed so far (call once they are in a checkpoint). */
  async acknowledge(): Promise<number> {
    if (this.pending.size === 0) return 0;
    const tx = this.redis.multi().sadd(this.keys.consumed, ...this.pending.keys());
    for (const raw of this.pending.values()) tx.lrem(this.keys.processing, 1, raw);
    await tx.exec();
    const n = this.pending.size;
    this.pending.clear();
    return n;
  }
}
