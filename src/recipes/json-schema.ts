// `move37 config schema`: JSON Schema of recipes, for editors (yaml-language-server) and for reading.
import { z } from "zod";
import { requireTrainer, type Trainer } from "./registry.js";

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

/** One trainer's schema by name, or every trainer's recipe (src/cli/trainers.ts) as a oneOf keyed by `trainer`. */
export function recipeJsonSchema(trainers: readonly Trainer[], name?: string): Record<string, unknown> {
  if (name !== undefined) {
    return trainerJsonSchema(requireTrainer(trainers, name));
  }
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "move37 recipe",
    oneOf: [...trainers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(t => {
      const { $schema: _unused, ...s } = trainerJsonSchema(t);
      return s;
    }),
  };
}
