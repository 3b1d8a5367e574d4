// Looks inside zod 4 schemas for the object keys allowed at a path, so an unknown key gets a did-you-mean.
import type { z } from "zod";

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  getter?: () => z.ZodType;
  valueType?: z.ZodType;
}

const def = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The object schemas a value at `path` may be checked against (several under unions). */
function objectsAt(schema: z.ZodType, path: (string | number)[]): Def[] {
  const d = def(schema);
  switch (d.type) {
    case "optional": case "nullable": case "default": case "prefault": case "catch": case "readonly": case "nonoptional":
      return objectsAt(d.innerType!, path);
    case "pipe":
      return objectsAt(d.in!, path);
    case "lazy":
      return objectsAt(d.getter!(), path);
    case "union":
      return d.options!.flatMap(o => objectsAt(o, path));
    case "object": {
      if (path.length === 0) return [d];
      const child = d.shape![String(path[0])];
      return child ? objectsAt(child, path.slice(1)) : [];
    }
    case "array":
      return path.length === 0 ? [] : objectsAt(d.element!, path.slice(1));
    case "record":
      return path.length === 0 ? [] : objectsAt(d.valueType!, path.slice(1));
    default:
      return [];
  }
}

/** Keys an object at `path` may have, per the schema. */
export function keysAt(schema: z.ZodType, path: (string | number)[]): string[] {
  return [...new Set(objectsAt(schema, path).flatMap(d => Object.keys(d.shape ?? {})))];
}
