import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { buildManifest, LAMBDA_NODE_RUNTIME, LAMBDA_NODEJS_BUILD } from "../../infra/functions";

/**
 * `sst.config.ts` can only run inside the SST CLI (which needs AWS). This test runs its `run()`
 * with recording stand-ins for the `$config`, `$app` and `sst` globals and checks the loop's
 * output: one function per manifest entry on the newest runtime and without a function URL, each
 * route on the one HTTP API plus `$default`, secrets linked only where the manifest lists them.
 * Its typing against SST's real platform is checked below (`tsconfig.sst.json`).
 */
describe("sst.config.ts", () => {
  it("creates one function per manifest entry and routes every manifest route through one API", async () => {
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
        constructor(readonly name: string) {
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
          url = "https://abc123.execute-api.eu-west-1.amazonaws.com";
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
    delete process.env.APP_URL;
    await config.run();

    const manifest = await buildManifest();
    expect(functions.map((f) => f.name)).toEqual(manifest.map((f) => f.name));
    expect(LAMBDA_NODE_RUNTIME).toBe("nodejs24.x");
    for (const fn of manifest) {
      const made = functions.find((f) => f.name === fn.name);
      expect(made?.args).toMatchObject({
        handler: `${fn.module}.handler`,
        runtime: "nodejs24.x",
        url: false,
        memory: `${fn.memoryMB} MB`,
      });
      // Exactly what test/build/sst-esbuild.ts models: another `nodejs` prop (minify, splitting,
      // esbuild, …) changes SST's build, and the SST-faithful build test must be told.
      expect(made?.args.nodejs).toEqual({ install: [...(fn.nodeInstall ?? [])], ...LAMBDA_NODEJS_BUILD });
      // Secrets are linked (resource.enc), never plain environment values.
      const env = made?.args.environment as Record<string, string>;
      expect(Object.values(env).filter((v) => String(v).startsWith("secret:"))).toEqual([]);
      // QStash destinations and mail links are built from APP_URL: the gateway's URL.
      expect(env.APP_URL).toBe("https://abc123.execute-api.eu-west-1.amazonaws.com");
      const linked = ((made?.args.link ?? []) as { name: string }[]).map((l) => l.name);
      expect(linked.sort()).toEqual([...fn.secrets].sort());
      for (const r of fn.routes) expect(routes).toContain(`${r.method} ${r.path} -> arn:${fn.name}`);
    }
    expect(routes).toContain("$default -> arn:NotFound");
    expect(routes).toHaveLength(manifest.reduce((n, f) => n + f.routes.length, 0) + 1);
    // No configured origins: no CORS at the gateway (SST's default would answer preflights with `*`).
    expect(apiArgs).toEqual([{ cors: false }]);
  });
});

const root = join(import.meta.dirname, "../..");
const tsc = join(root, "node_modules/typescript/bin/tsc");

/** Runs `tsc -p <project>` in its own process; exit status and output (diagnostics go to stdout). */
function typecheck(project: string): Promise<{ status: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [tsc, "-p", project], { cwd: root }, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      resolve({ status: err ? (typeof code === "number" ? code : -1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/**
 * `npm run typecheck` checks `sst.config.ts` against SST's installed platform types
 * (`tsconfig.sst.json`); this shows that check is real: the config passes, and a copy with two
 * deliberate type errors fails on exactly those two lines.
 */
describe("sst.config.ts typechecks against SST's platform types", () => {
  const platform = join(root, ".sst/platform/config.d.ts");

  it("has SST's platform installed (npm run sst:install)", () => {
    expect(existsSync(platform), "run `npm run sst:install` (offline-safe `sst install`)").toBe(true);
  });

  it("passes as written, and a copy with a wrong runtime and a numeric url fails on those lines", async () => {
    const config = readFileSync(join(root, "sst.config.ts"), "utf8");
    mkdirSync(join(root, ".sst"), { recursive: true });
    const dir = mkdtempSync(join(root, ".sst", "typecheck-"));
    try {
      const up = relative(dir, root);
      const broken = config
        .replace('path="./.sst/platform/config.d.ts"', `path="${up}/.sst/platform/config.d.ts"`)
        .replace('import("./infra/functions")', `import("${up}/infra/functions")`)
        .replace("runtime: LAMBDA_NODE_RUNTIME,", 'runtime: "nodejs26.x",')
        .replace("url: false,", "url: 123,");
      expect(broken.match(/nodejs26\.x|url: 123|\.\.\/\.\.\//g)).toHaveLength(4);
      writeFileSync(join(dir, "sst.config.ts"), broken);
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({ extends: `${up}/tsconfig.sst.json`, files: ["sst.config.ts"] }),
      );
      const [real, copy] = await Promise.all([
        typecheck(join(root, "tsconfig.sst.json")),
        typecheck(join(dir, "tsconfig.json")),
      ]);
      expect(real.output).toBe("");
      expect(real.status).toBe(0);
      expect(copy.status).not.toBe(0);
      const errors = copy.output.split("\n").filter((l) => /error TS\d+/.test(l));
      const line = (needle: string) => broken.split("\n").findIndex((l) => l.includes(needle)) + 1;
      expect(errors.map((e) => e.match(/^(.*)\((\d+),\d+\): error (TS\d+)/)?.slice(1))).toEqual([
        [relative(root, join(dir, "sst.config.ts")), String(line("nodejs26.x")), "TS2820"],
        [relative(root, join(dir, "sst.config.ts")), String(line("url: 123")), "TS2322"],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
