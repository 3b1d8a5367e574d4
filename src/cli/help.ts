// Shared --help conventions: every verb ends its help with runnable examples.
import type { Command } from "commander";

/** Appends an "Examples:" block to the command's --help. */
export function withExamples(cmd: Command, examples: string[]): Command {
  return cmd.addHelpText("after", `\nExamples:\n${examples.map(e => `  $ ${e}`).join("\n")}\n`);
}

/** A verb that only groups subcommands (`runs ls`, `recipes cp`): its description and its --help examples. */
export function commandGroup(program: Command, name: string, description: string, examples: string[]): Command {
  return withExamples(program.command(name).description(description), examples);
}
