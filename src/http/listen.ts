// Listening and closing for Move37's HTTP servers (dashboard, serve, reward-server): one port-in-use message, one URL form.
import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";

export class PortInUseError extends Error {
  constructor(port: number) {
    super(`port ${port} is in use: pass --port 0 for any free port, or another port number`);
    this.name = "PortInUseError";
  }
}

export interface Listening {
  server: ServerType;
  /** The port bound (the free one chosen when 0 was asked for). */
  port: number;
  /** http://host:port; a server on every interface (0.0.0.0) is reached at 127.0.0.1. */
  url: string;
}

/** Serves `fetch` on host:port (0 = any free port) and resolves once it listens; a taken port rejects with PortInUseError. */
export async function listen(fetch: Parameters<typeof serve>[0]["fetch"], port: number, host: string): Promise<Listening> {
  const server = serve({ fetch, port, hostname: host });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", () => resolve());
    server.once("error", (err: NodeJS.ErrnoException) => reject(err.code === "EADDRINUSE" ? new PortInUseError(port) : err));
  });
  const bound = (server.address() as AddressInfo).port;
  return { server, port: bound, url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${bound}` };
}

/** Stops listening and drops open connections (a response still streaming, like the dashboard's events, would hold close() up); resolves once closed. */
export function closeServer(server: ServerType): Promise<void> {
  return new Promise<void>(resolve => {
    server.close(() => resolve());
    (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}
