// Follows a JSONL file another process appends to: reads from the last offset on each change.
// fs.watch on the folder wakes it promptly; a slow poll covers filesystems where watch is silent.
import { closeSync, existsSync, openSync, readSync, statSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { parseJsonlLines } from "../runs/read.js";

export interface TailHandlers<T> {
  /** New complete rows, in file order. */
  rows(rows: T[]): void;
  /** The file was replaced or truncated (a resumed run rewound it); rows() follows with the whole file. */
  reset(): void;
}

export class JsonlTail<T = Record<string, unknown>> {
  private offset = 0;
  private ino = -1;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly path: string,
    private readonly on: TailHandlers<T>,
    pollMs = 1000,
  ) {
    this.poll();
    try {
      const name = basename(path);
      this.watcher = watch(dirname(path), (_event, file) => {
        if (file === null || file === name) this.poll();
      });
      this.watcher.on("error", () => this.watcher?.close());
    } catch {
      // no watch support here: the poll below still follows the file
    }
    this.timer = setInterval(() => this.poll(), pollMs);
    this.timer.unref();
  }

  /** Reads whatever was appended since the last call. */
  poll(): void {
    if (!existsSync(this.path)) return;
    const st = statSync(this.path);
    if (st.ino !== this.ino || st.size < this.offset) {
      const first = this.ino === -1;
      this.ino = st.ino;
      this.offset = 0;
      if (!first) this.on.reset();
    }
    if (st.size === this.offset) return;
    const buf = Buffer.alloc(st.size - this.offset);
    const fd = openSync(this.path, "r");
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, this.offset);
    } finally {
      closeSync(fd);
    }
    // Only complete lines are consumed; a line still being written is read again once its newline lands.
    const end = buf.lastIndexOf(0x0a, n - 1);
    if (end < 0) return;
    this.offset += end + 1;
    const rows = parseJsonlLines<T>(buf.subarray(0, end).toString("utf8"));
    if (rows.length > 0) this.on.rows(rows);
  }

  close(): void {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
  }
}
