// The page's script and styles, bundled once when the dashboard starts (esbuild, no build step to ship).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const PAGE_DIR = fileURLToPath(new URL("./page", import.meta.url));

export interface PageAssets {
  html: string;
  js: string;
  css: string;
}

export async function bundlePage(): Promise<PageAssets> {
  const result = await build({
    entryPoints: [join(PAGE_DIR, "app.ts")],
    bundle: true,
    write: false,
    format: "iife",
    target: "es2020",
    minify: true,
    legalComments: "none",
    logLevel: "silent",
  });
  const uplotDir = dirname(createRequire(import.meta.url).resolve("uplot"));
  return {
    html: readFileSync(join(PAGE_DIR, "index.html"), "utf8"),
    js: result.outputFiles[0].text,
    css: readFileSync(join(uplotDir, "uPlot.min.css"), "utf8") + "\n" + readFileSync(join(PAGE_DIR, "style.css"), "utf8"),
  };
}
