// Named errors for model files: each says what is wrong and what to do.

/** A safetensors file whose bytes end before its header says they should. */
export class SafetensorsTruncatedError extends Error {
  override name = "SafetensorsTruncatedError";
  constructor(path: string, detail: string) {
    super(`${path}: truncated safetensors file (${detail}); the copy is incomplete, copy or save it again`);
  }
}

/** A safetensors file whose header is not a valid description of its data. */
export class SafetensorsCorruptError extends Error {
  override name = "SafetensorsCorruptError";
  constructor(path: string, detail: string) {
    super(`${path}: corrupt safetensors header (${detail}); the file is damaged or not a safetensors file`);
  }
}

/** A tensor stored in a dtype Move37 does not convert. */
export class UnsupportedDtypeError extends Error {
  override name = "UnsupportedDtypeError";
  constructor(where: string, dtype: string, supported: readonly string[]) {
    super(`${where}: dtype ${dtype} is not supported (supported: ${supported.join(", ")}); convert the checkpoint to one of them`);
  }
}

/** A config.json for an architecture Move37 does not implement. */
export class UnsupportedArchitectureError extends Error {
  override name = "UnsupportedArchitectureError";
  constructor(where: string, found: string, supported: readonly string[]) {
    super(`${where}: architecture ${found} is not supported (supported: ${supported.join(", ")})`);
  }
}

/** A config.json that names a supported architecture but uses a feature the model does not implement, or is malformed. */
export class ModelConfigError extends Error {
  override name = "ModelConfigError";
  constructor(where: string, detail: string) {
    super(`${where}: ${detail}`);
  }
}

/** A model folder lacking a file it needs. */
export class ModelFolderError extends Error {
  override name = "ModelFolderError";
  constructor(dir: string, detail: string) {
    super(`${dir}: ${detail}`);
  }
}

/** Checkpoint tensors that do not match the config: every problem is listed, not just the first. */
export class CheckpointTensorsError extends Error {
  override name = "CheckpointTensorsError";
  constructor(
    where: string,
    readonly missing: string[],
    readonly unexpected: string[],
    readonly misshaped: { name: string; expected: number[]; found: number[] }[],
  ) {
    const parts: string[] = [];
    const list = (xs: string[]) => xs.slice(0, 20).join(", ") + (xs.length > 20 ? `, … (${xs.length} in all)` : "");
    if (missing.length) parts.push(`missing: ${list(missing)}`);
    if (unexpected.length) parts.push(`unexpected: ${list(unexpected)}`);
    if (misshaped.length) parts.push(`wrong shape: ${list(misshaped.map(m => `${m.name} [${m.found}] (expected [${m.expected}])`))}`);
    super(`${where}: checkpoint tensors do not match config.json (${parts.join("; ")}); check that config.json belongs to these weights`);
  }
}

/** A GGUF file that cannot be parsed. */
export class GgufFormatError extends Error {
  override name = "GgufFormatError";
  constructor(path: string, detail: string) {
    super(`${path}: not a valid GGUF v3 file (${detail})`);
  }
}

/** A model folder that cannot be exported to GGUF as asked. */
export class GgufExportError extends Error {
  override name = "GgufExportError";
  constructor(detail: string) {
    super(`GGUF export: ${detail}`);
  }
}
