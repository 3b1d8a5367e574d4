// Worker-thread entry of `move37 serve`'s generator: workers do not inherit tsx's loader, so register it here.
import { register } from "tsx/esm/api";
register();
await import("./generator-worker.ts");
