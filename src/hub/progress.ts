// One progress bar per downloaded file (cli-progress, as src/runs/progress.ts does for training), to stderr.
// On a terminal: live bars; elsewhere (logs, CI, pipes): one line when a file starts and one when it ends.
import { writeSync } from "node:fs";
import { Writable } from "node:stream";
import { isatty } from "node:tty";
import cliProgress from "cli-progress";

export interface FileBar {
  /** `bytes` of the file are on disk now (resumed files start above 0). */
  update(bytes: number): void;
  /** A note that does not tear the bars (a resumed cut, a retry). */
  log(message: string): void;
  done(): void;
}

export interface DownloadProgress {
  file(name: string, total: number, initial: number): FileBar;
  /** A message between the bars (waiting for another process's download). */
  note(message: string): void;
  stop(): void;
}

export const mb = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`);

/** A stream onto fd 2 written synchronously: it works from a worker thread while the main thread waits. */
function stderrFd(): NodeJS.WritableStream & { isTTY?: boolean } {
  const s = new Writable({ write(chunk, _enc, cb) { try { writeSync(2, chunk); } catch { /* stderr closed */ } cb(); } }) as Writable & { isTTY?: boolean; columns?: number; cursorTo?: unknown };
  s.isTTY = isatty(2);
  s.columns = process.stderr.columns ?? 100;
  return s;
}

export function createDownloadProgress(stream: (NodeJS.WritableStream & { isTTY?: boolean }) = stderrFd()): DownloadProgress {
  if (stream.isTTY !== true) {
    const write = (s: string) => stream.write(s.endsWith("\n") ? s : s + "\n");
    return {
      file(name, total, initial) {
        write(`downloading ${name} (${mb(total)}${initial > 0 ? `, resuming at ${mb(initial)}` : ""})`);
        return { update() {}, log: write, done: () => write(`downloaded ${name}`) };
      },
      note: write,
      stop() {},
    };
  }
  const multi = new cliProgress.MultiBar(
    { format: "{bar} {name} {done}/{size} | ETA {eta_formatted}", stream, hideCursor: true, clearOnComplete: false, barsize: 20, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  return {
    file(name, total, initial) {
      const bar = multi.create(Math.max(total, 1), initial, { name, done: mb(initial), size: mb(total) });
      return {
        update: bytes => bar.update(bytes, { done: mb(bytes) }),
        log: m => multi.log(m.endsWith("\n") ? m : m + "\n"),
        done: () => bar.update(Math.max(total, 1), { done: mb(total) }),
      };
    },
    note: m => multi.log(m.endsWith("\n") ? m : m + "\n"),
    stop: () => multi.stop(),
  };
}

/** No output (tests, `--quiet`). */
export const silentProgress: DownloadProgress = {
  file: () => ({ update() {}, log() {}, done() {} }),
  note() {},
  stop() {},
};
