import { test } from "node:test";
import assert from "node:assert/strict";
import { commandPaths, runCli } from "./run-cli.js";

test("every verb prints --help with its usage and an example", async () => {
  const paths = commandPaths();
  // The verbs this area owns must be there; other engineers' verbs join the same check as they land.
  for (const verb of ["train", "runs", "runs ls", "runs show", "recipes", "recipes ls", "recipes cp", "config", "config schema", "dashboard", "bench", "doctor"]) {
    assert.ok(paths.some(p => p.join(" ") === verb), `missing verb ${verb}`);
  }
  for (const path of [[], ...paths]) {
    const r = await runCli([...path, "--help"]);
    assert.equal((r.error as { code?: string } | undefined)?.code, "commander.helpDisplayed", `${path.join(" ")}: ${r.error?.message}`);
    assert.match(r.stdout, new RegExp(`^Usage: move37${path.length ? " " + path.join(" ") : ""} `), path.join(" "));
    const examples = r.stdout.split(/\nExamples?:\n/)[1] ?? "";
    assert.match(examples, /^ {2}\$ .*\bmove37 /m, `${path.join(" ") || "move37"} --help has no example`);
  }
});

test("an unknown verb fails with commander's message", async () => {
  const r = await runCli(["trian"]);
  assert.equal((r.error as { code?: string }).code, "commander.unknownCommand");
  assert.match(r.stderr, /unknown command 'trian'/);
  assert.match(r.stderr, /Did you mean train\?/);
});
