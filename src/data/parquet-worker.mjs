// Worker thread that reads Parquet files with hyparquet (+ hyparquet-compressors: snappy, gzip, zstd, brotli,
// lz4) and hands the rows back to a caller blocked on Atomics.wait, so loadDataset stays synchronous (the
// pattern of src/rewards/math/latex-worker.mjs). One worker serves every file of a process, one job at a time:
// {id, path, limit, wanted} in, {id, rows, columns, codecs} or {id, error, …} out on the port, then ctrl[0] = 1.
// Rows travel by structured clone: nested list<struct> and struct columns arrive as arrays and objects, INT64
// as bigint. Plain .mjs so it starts without a TypeScript loader. Every job is answered, an error included.
import { readFileSync } from "node:fs";
import { workerData } from "node:worker_threads";

const { port, ctrl: ctrlBuf } = workerData;
const ctrl = new Int32Array(ctrlBuf);
let current; // id of the job in flight

function done(message) {
  if (current === undefined) return;
  port.postMessage({ id: current, ...message });
  current = undefined;
  Atomics.store(ctrl, 0, 1);
  Atomics.notify(ctrl, 0);
}
process.on("exit", () => done({ error: "read", message: "the Parquet reader stopped without an answer" }));

const libs = (async () => ({ ...(await import("hyparquet")), ...(await import("hyparquet-compressors")) }))();

async function read({ path, limit, wanted }) {
  const { parquetMetadata, parquetReadObjects, parquetSchema, compressors } = await libs;
  const buf = readFileSync(path);
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  let metadata;
  try {
    metadata = parquetMetadata(file);
  } catch (e) {
    return { error: "metadata", message: String(e?.message ?? e) };
  }
  // only the columns the loader can use are read (a dataset may carry images or long unused text)
  const columns = parquetSchema(metadata).children.map(c => c.element.name);
  const cols = wanted ? columns.filter(c => wanted.includes(c)) : columns;
  const chunks = metadata.row_groups.flatMap(g => g.columns).filter(c => c.meta_data && cols.includes(c.meta_data.path_in_schema[0]));
  const codecs = [...new Set(chunks.map(c => c.meta_data.codec))];
  const unreadable = codecs.filter(c => c !== "UNCOMPRESSED" && c !== "SNAPPY" && !compressors[c]);
  if (unreadable.length) return { error: "codec", codecs: unreadable, known: ["UNCOMPRESSED", ...Object.keys(compressors)] };
  const rows = cols.length === 0 ? Array.from({ length: Math.min(Number(metadata.num_rows), limit ?? Infinity) }, () => ({}))
    : await parquetReadObjects({ file, metadata, compressors, columns: cols, rowEnd: limit ?? undefined });
  return { rows, columns, codecs };
}

port.on("message", async job => {
  current = job.id;
  try {
    done(await read(job));
  } catch (e) {
    done({ error: "read", message: String(e?.message ?? e) });
  }
});
