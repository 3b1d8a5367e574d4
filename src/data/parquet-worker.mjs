// Worker thread that reads one Parquet file with hyparquet (+ hyparquet-compressors: snappy, gzip, zstd,
// brotli, lz4) and hands the rows back to a caller blocked on Atomics.wait, so loadDataset stays synchronous
// (the same pattern as src/rewards/math/latex-worker.mjs). Rows travel by structured clone: nested
// list<struct> and struct columns arrive as arrays and objects, INT64 as bigint. Plain .mjs so it starts
// without a TypeScript loader.
import { readFileSync } from "node:fs";
import { workerData } from "node:worker_threads";
import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";
import { compressors } from "hyparquet-compressors";

const { path, port, ctrl: ctrlBuf, limit } = workerData;
const ctrl = new Int32Array(ctrlBuf);

function done(message) {
  port.postMessage(message);
  Atomics.store(ctrl, 0, 1);
  Atomics.notify(ctrl, 0);
}

try {
  const buf = readFileSync(path);
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  let metadata;
  try {
    metadata = parquetMetadata(file);
  } catch (e) {
    done({ error: "metadata", message: String(e?.message ?? e) });
    throw null;
  }
  const codecs = [...new Set(metadata.row_groups.flatMap(g => g.columns.map(c => c.meta_data?.codec).filter(Boolean)))];
  const unreadable = codecs.filter(c => c !== "UNCOMPRESSED" && c !== "SNAPPY" && !compressors[c]);
  if (unreadable.length) {
    done({ error: "codec", codecs: unreadable, known: ["UNCOMPRESSED", ...Object.keys(compressors)] });
    throw null;
  }
  const columns = parquetSchema(metadata).children.map(c => c.element.name);
  const rows = await parquetReadObjects({ file, metadata, compressors, rowEnd: limit ?? undefined });
  done({ rows, columns, numRows: Number(metadata.num_rows), codecs });
} catch (e) {
  if (e !== null) done({ error: "read", message: String(e?.message ?? e) });
}
