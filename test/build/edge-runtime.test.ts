import { join } from "node:path";
import { build } from "esbuild";
import { exportJWK, generateKeyPair } from "jose";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildManifest } from "../../infra/functions";
import { testEnv } from "../helpers/env";
import { edgeBuildOptions } from "./edge-esbuild";

const root = join(import.meta.dirname, "../..");
const edge = (await buildManifest(["User1", "User2"])).filter((f) => f.runtime === "edge");

/**
 * Headers left out of the comparison: per-request values (`x-request-id`, `date`), hop-by-hop
 * framing of the HTTP hop between workerd and miniflare's `dispatchFetch` (`transfer-encoding`,
 * `connection`, `keep-alive`), and miniflare's own `mf-*` transport headers. Everything else —
 * content type, caching, every security header — must be identical.
 */
const PER_REQUEST = new Set(["x-request-id", "date", "transfer-encoding", "connection", "keep-alive"]);

/** Status, headers (minus per-request ones) and exact body bytes of a response. */
async function snapshot(res: Response) {
  return {
    status: res.status,
    headers: Object.fromEntries(
      [...res.headers].filter(([name]) => !PER_REQUEST.has(name) && !name.startsWith("mf-")).sort(),
    ),
    body: Buffer.from(await res.arrayBuffer()).toString("base64"),
  };
}

/**
 * Every `edge` function, bundled for a Web-standard platform (`edge-esbuild.ts`), is served by
 * Cloudflare's workerd (through miniflare 3, no Node compatibility flags: Web APIs only) and must
 * answer each of its routes with the same status, headers and body bytes as the same module under
 * Node (`app.request()`). The environment reaches the bundle as `globalThis.__ENV__`, set by a
 * module evaluated before it (`defineEdgeFunction` reads it where there is no `process.env`).
 */
describe("edge functions answer the same in workerd as under Node", () => {
  let env: Record<string, string>;
  let mf: Miniflare | undefined;

  beforeAll(async () => {
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    env = testEnv({
      JWT_ALGORITHM: "EdDSA",
      JWT_PRIVATE_JWK: JSON.stringify({ ...(await exportJWK(privateKey)), kid: "edge-2026-12" }),
      APP_URL: "https://auth.example.test",
    });
    Object.assign(process.env, env);
  });
  afterAll(async () => {
    await mf?.dispose();
  });

  it("has at least one edge function", () => {
    expect(edge.length).toBeGreaterThan(0);
  });

  it.each(edge.map((f) => [f.name, f] as const))("%s", async (_name, fn) => {
    const result = await build({ ...edgeBuildOptions(root, fn), write: false });
    const bundle = result.outputFiles[0]?.text ?? "";
    await mf?.dispose();
    mf = new Miniflare({
      modules: [
        {
          type: "ESModule",
          path: join(root, "edge-entry.mjs"),
          contents: 'import "./edge-env.mjs";\nexport { default } from "./edge-function.mjs";\n',
        },
        {
          type: "ESModule",
          path: join(root, "edge-env.mjs"),
          contents: `globalThis.__ENV__ = ${JSON.stringify(env)};\n`,
        },
        { type: "ESModule", path: join(root, "edge-function.mjs"), contents: bundle },
      ],
      compatibilityDate: "2025-07-18",
    });
    const { app } = (await import(join(root, `${fn.module}.ts`))) as {
      app: { request: (path: string, init: RequestInit) => Promise<Response> };
    };
    for (const route of fn.routes) {
      const url = `https://auth.example.test${route.path}`;
      const underNode = await snapshot(await app.request(url, { method: route.method }));
      const underWorkerd = await snapshot(
        (await mf.dispatchFetch(url, { method: route.method })) as unknown as Response,
      );
      expect(underNode.status, `${route.method} ${route.path}`).toBe(200);
      expect(underNode.body, "a body to compare").not.toBe("");
      expect(underWorkerd, `${route.method} ${route.path}`).toEqual(underNode);
    }
  });
});
