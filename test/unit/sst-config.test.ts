import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildManifest } from "../../infra/functions";

/**
 * `sst.config.ts` can only run inside the SST CLI (which needs AWS). This test runs its `run()`
 * with recording stand-ins for the `$config`, `$app` and `sst` globals and checks the loop's
 * output: one function with a URL per manifest entry, each route on the one HTTP API, secrets only
 * where the manifest lists them.
 */
describe("sst.config.ts", () => {
  it("creates one function (with URL) per manifest entry and routes every manifest route through one API", async () => {
    const functions: { name: string; args: Record<string, unknown> }[] = [];
    const routes: string[] = [];
    const secrets: string[] = [];
    const apiArgs: Record<string, unknown>[] = [];
    delete process.env.CORS_ORIGINS;
    const g = globalThis as Record<string, unknown>;
    g.$config = (c: unknown) => c;
    g.$app = { stage: "dev" };
    g.sst = {
      Secret: class {
        value: string;
        constructor(name: string) {
          secrets.push(name);
          this.value = `secret:${name}`;
        }
      },
      aws: {
        Function: class {
          arn: string;
          constructor(name: string, args: Record<string, unknown>) {
            functions.push({ name, args });
            this.arn = `arn:${name}`;
          }
        },
        ApiGatewayV2: class {
          url = "https://api.example.com";
          constructor(_name: string, args: Record<string, unknown>) {
            apiArgs.push(args);
          }
          route(key: string, arn: string) {
            routes.push(`${key} -> ${arn}`);
          }
        },
      },
    };
    const config = (await import(join(import.meta.dirname, "../../sst.config.ts"))).default as {
      run(): Promise<unknown>;
      app(input: { stage: string }): { name: string; home: string };
    };
    expect(config.app({ stage: "production" })).toMatchObject({ home: "aws", removal: "retain" });
    await config.run();

    const manifest = await buildManifest();
    expect(functions.map((f) => f.name)).toEqual(manifest.map((f) => f.name));
    for (const fn of manifest) {
      const made = functions.find((f) => f.name === fn.name);
      expect(made?.args).toMatchObject({
        handler: `${fn.module}.handler`,
        url: true,
        memory: `${fn.memoryMB} MB`,
      });
      const env = made?.args.environment as Record<string, string>;
      const secretEnv = Object.values(env).filter((v) => v.startsWith("secret:"));
      expect(secretEnv.sort()).toEqual(fn.secrets.map((s) => `secret:${s}`).sort());
      for (const r of fn.routes) expect(routes).toContain(`${r.method} ${r.path} -> arn:${fn.name}`);
    }
    expect(routes).toHaveLength(manifest.reduce((n, f) => n + f.routes.length, 0));
    // No configured origins: no CORS at the gateway (SST's default would answer preflights with `*`).
    expect(apiArgs).toEqual([{ cors: false }]);
  });
});
