import { readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { createClient } from "@redis/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOutbox } from "../../infra/local/outbox";
import { createOutboxApp, isLoopbackHost } from "../../infra/local/outbox-app";
import { type RedisServerHandle, startRedisServer } from "../../infra/local/redis-server";

/**
 * Issue #14 I7 (local runtime only): the dev outbox answered any `Host`, so a DNS-rebinding page
 * could read live verification and reset links from a developer's machine; and the spawned
 * redis-server accepted any local connection without a password.
 */
describe("the dev outbox answers only loopback Host headers (DNS rebinding)", () => {
  const outbox = createOutbox();
  outbox.addEmail({
    id: "em_1",
    from: "auth@example.com",
    to: "victim@example.com",
    subject: "Reset your password",
    html: '<a href="http://localhost:8000/User1/reset_password_form?token=secret-link-token">reset</a>',
    text: "http://localhost:8000/User1/reset_password_form?token=secret-link-token",
    tags: [],
  });
  const app = createOutboxApp(outbox);
  const get = (path: string, host: string) => app.request(`http://${host}${path}`, { headers: { host } });

  it.each(["rebind.attacker.example", "localhost.attacker.example", "127.0.0.1.nip.io", "10.0.0.5:8000"])(
    "refuses Host %s with 421 and no captured mail",
    async (host) => {
      for (const path of ["/_dev/outbox.json", "/_dev/outbox"]) {
        const res = await get(path, host);
        expect(res.status, path).toBe(421);
        expect(await res.text()).not.toContain("secret-link-token");
      }
    },
  );

  it.each(["localhost:8000", "localhost", "127.0.0.1:8301", "127.3.4.5", "[::1]:8000", "dev.localhost:8000"])(
    "serves Host %s",
    async (host) => {
      const res = await get("/_dev/outbox.json", host);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("secret-link-token");
    },
  );

  it("reads no Host, an unparsable one or a URL trick as loopback", () => {
    for (const host of [undefined, "", "localhost@attacker.example", "localhost/x", "0x7f.1", "2130706433"])
      expect(isLoopbackHost(host), String(host)).toBe(false);
  });
});

describe("the spawned redis-server requires a password", () => {
  let server: RedisServerHandle;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** One raw RESP exchange without AUTH, as `redis-cli -p <port>` would do it. */
  const unauthenticated = (command: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = createConnection({ host: "127.0.0.1", port: server.port });
      socket.once("error", reject);
      socket.once("connect", () => socket.write(`${command}\r\n`));
      socket.once("data", (chunk) => {
        socket.destroy();
        resolve(chunk.toString("latin1"));
      });
    });

  it("refuses a client that does not authenticate", async () => {
    expect(await unauthenticated("PING")).toMatch(/^-NOAUTH/);
    expect(await unauthenticated("KEYS *")).toMatch(/^-NOAUTH/);
    expect(await unauthenticated("AUTH wrong-password")).toMatch(/^-(WRONGPASS|ERR)/);
  });

  it("accepts the password its URL carries", async () => {
    expect(server.password.length).toBeGreaterThanOrEqual(43); // 256 random bits, base64url
    const client = createClient({ url: server.url });
    await client.connect();
    try {
      expect(await client.ping()).toBe("PONG");
    } finally {
      await client.close();
    }
  });

  it("never shows the password on its command line (readable by every local user)", () => {
    const cmdline = readFileSync(`/proc/${server.pid}/cmdline`, "latin1");
    expect(cmdline).toContain("redis-server");
    expect(cmdline).not.toContain(server.password);
  });
});
