// Where verbs print: process.stdout/stderr, swappable so tests capture one command's output
// without also capturing whatever else the process writes meanwhile.

export const output = {
  out(text: string): void {
    process.stdout.write(text);
  },
  err(text: string): void {
    process.stderr.write(text);
  },
};
