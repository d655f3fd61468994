import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";

/** A Hono (or any fetch-style) app listening on a local port. */
export interface LocalAppServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:49152`. */
  url: string;
  port: number;
  /** Stops listening and drops keep-alive sockets, so tests and the dev server exit promptly. */
  close(): Promise<void>;
}

/**
 * Serves a fetch handler on 127.0.0.1 with `@hono/node-server`. Local stand-ins only: binding to
 * loopback keeps the dev outbox and capture endpoints off the network.
 *
 * @param fetch the app's fetch handler (`app.fetch`).
 * @param port TCP port; `0` (the default) picks a free one.
 * @throws the listen error (e.g. `EADDRINUSE`) when the port is taken.
 */
export function serveAppLocally(
  fetch: (request: Request) => Response | Promise<Response>,
  port = 0,
): Promise<LocalAppServer> {
  return new Promise((resolve, reject) => {
    // Only the plain http server is created here, so the narrower type is accurate.
    const server = serve({ fetch, port, hostname: "127.0.0.1" }) as Server;
    server.once("error", reject);
    server.once("listening", () => {
      server.off("error", reject);
      const address = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${address.port}`,
        port: address.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
