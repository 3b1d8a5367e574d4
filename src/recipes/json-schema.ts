// `move37 config schema`: JSON Schema of recipes, for editors (yaml-language-server) and for reading.
import { z } from "zod";
import { getTrainer, requireTrainer, trainerNames, type Trainer } from "./registry.js";

/** Schema of one trainer's recipe, `trainer:` included. */
export function trainerJsonSchema(trainer: Trainer): Record<string, unknown> {
  const body = z.toJSONSchema(trainer.schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  const properties = (body.properties ?? {}) as Record<string, unknown>;
  const required = (body.required ?? []) as string[];
  return {
    ...body,
    title: `move37 ${trainer.name} recipe`,
    description: trainer.description,
    properties: { trainer: { const: trainer.name }, ...properties },
    required: ["trainer", ...required],
  };
}

/** One trainer's schema by name, or every registered recipe kind as a oneOf keyed by `trainer`. */
export function recipeJsonSchema(name?: string): Record<string, unknown> {
  if (name !== undefined) {
    return trainerJsonSchema(requireTrainer(name));
  }
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "move37 recipe",
    oneOf: trainerNames().map(n => {
      const { $schema: _unused, ...s } = trainerJsonSchema(getTrainer(n)!);
      return s;
    }),
  };
}
