// Worker thread that reads one Parquet file with hyparquet (+ hyparquet-compressors: snappy, gzip, zstd,
// brotli, lz4) and hands the rows back to a caller blocked on Atomics.wait, so loadDataset stays synchronous
// (the same pattern as src/rewards/math/latex-worker.mjs). Rows travel by structured clone: nested
// list<struct> and struct columns arrive as arrays and objects, INT64 as bigint. Plain .mjs so it starts
// without a TypeScript loader. Every way out answers the caller (an error included), so it never waits in vain.
import { readFileSync } from "node:fs";
import { workerData } from "node:worker_threads";

const { path, port, ctrl: ctrlBuf, limit, wanted } = workerData;
const ctrl = new Int32Array(ctrlBuf);
let answered = false;

function done(message) {
  if (answered) return;
  answered = true;
  port.postMessage(message);
  Atomics.store(ctrl, 0, 1);
  Atomics.notify(ctrl, 0);
}
process.on("exit", () => done({ error: "read", message: "the Parquet reader stopped without an answer" }));

try {
  const { parquetMetadata, parquetReadObjects, parquetSchema } = await import("hyparquet");
  const { compressors } = await import("hyparquet-compressors");
  const buf = readFileSync(path);
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  let metadata;
  try {
    metadata = parquetMetadata(file);
  } catch (e) {
    done({ error: "metadata", message: String(e?.message ?? e) });
  }
  if (metadata) {
    // only the columns the loader can use are read (a dataset may carry images or long unused text)
    const columns = parquetSchema(metadata).children.map(c => c.element.name);
    const read = wanted ? columns.filter(c => wanted.includes(c)) : columns;
    const chunks = metadata.row_groups.flatMap(g => g.columns).filter(c => c.meta_data && read.includes(c.meta_data.path_in_schema[0]));
    const codecs = [...new Set(chunks.map(c => c.meta_data.codec))];
    const unreadable = codecs.filter(c => c !== "UNCOMPRESSED" && c !== "SNAPPY" && !compressors[c]);
    if (unreadable.length) done({ error: "codec", codecs: unreadable, known: ["UNCOMPRESSED", ...Object.keys(compressors)] });
    else {
      const rows = read.length === 0 ? Array.from({ length: Math.min(Number(metadata.num_rows), limit ?? Infinity) }, () => ({}))
        : await parquetReadObjects({ file, metadata, compressors, columns: read, rowEnd: limit ?? undefined });
      done({ rows, columns, codecs });
    }
  }
} catch (e) {
  done({ error: "read", message: String(e?.message ?? e) });
}
