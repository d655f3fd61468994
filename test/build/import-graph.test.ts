import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { sourceFiles } from "../helpers/source-files";

/**
 * The dependency rules of DESIGN.md §2, checked on the import graph of `functions/ shared/ infra/`
 * (every relative `import`/`export … from` and side-effect `import`, type-only ones included, and `import()` — a template
 * literal one counts as an edge to every file its pattern matches):
 * - one composition root: only `functions/` and `infra/` import `shared/wiring/`;
 * - `shared/http`, `shared/accounts`, `shared/crypto` and `shared/ports` import neither an adapter
 *   (`shared/adapters/`) nor the composition root;
 * - `shared/` never imports `functions/` or `infra/`, and `functions/` never imports `infra/`;
 * - no import cycle.
 */
const root = join(import.meta.dirname, "../..");
const DIRS = ["functions", "shared", "infra"];

const files = DIRS.flatMap(sourceFiles);
const known = new Set(files);

const STATIC = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*["'](\.[^"']+)["']/g;
const SIDE_EFFECT = /(?:^|\n)\s*import\s*["'](\.[^"']+)["']/g;
const DYNAMIC = /import\(\s*["'](\.[^"']+)["']\s*\)/g;
const TEMPLATE = /import\(\s*`(\.[^`]+)`\s*\)/g;

function resolve(from: string, spec: string): string[] {
  const base = relative(root, join(root, dirname(from), spec)).replaceAll("\\", "/");
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`])
    if (known.has(candidate)) return [candidate];
  return [];
}

function resolveTemplate(from: string, pattern: string): string[] {
  const [head = "", ...rest] = pattern.split(/\$\{[^}]*\}/);
  const prefix =
    relative(root, join(root, dirname(from), head)).replaceAll("\\", "/") + (head.endsWith("/") ? "/" : "");
  const suffix = rest.at(-1) ?? "";
  return files.filter((f) => f.startsWith(prefix) && f.endsWith(suffix));
}

/** file → the files it imports. */
const graph = new Map<string, string[]>(
  files.map((file) => {
    const text = readFileSync(join(root, file), "utf8");
    const targets = [
      ...[...text.matchAll(STATIC)].flatMap((m) => resolve(file, m[1] ?? "")),
      ...[...text.matchAll(SIDE_EFFECT)].flatMap((m) => resolve(file, m[1] ?? "")),
      ...[...text.matchAll(DYNAMIC)].flatMap((m) => resolve(file, m[1] ?? "")),
      ...[...text.matchAll(TEMPLATE)].flatMap((m) => resolveTemplate(file, m[1] ?? "")),
    ];
    return [file, [...new Set(targets)]];
  }),
);

const edges = [...graph].flatMap(([from, tos]) => tos.map((to) => ({ from, to })));
const under = (path: string, ...dirs: string[]) => dirs.some((d) => path.startsWith(`${d}/`));

/** Strongly connected components with more than one file (Tarjan), or a file importing itself. */
function cycles(): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    indexOf.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, indexOf.get(w) ?? 0));
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indexOf.has(v)) visit(v);
  return found;
}

describe("import graph of functions/ shared/ infra/", () => {
  it("reads a graph of the real size (the parser finds imports)", () => {
    expect(files.length).toBeGreaterThan(100);
    expect(edges.length).toBeGreaterThan(300);
    // The manifest's template import reaches every endpoint spec.
    expect(graph.get("infra/functions.ts")).toContain("functions/login.endpoint.ts");
  });

  it("has one composition root: only functions/ and infra/ import shared/wiring/", () => {
    const offending = edges.filter(
      (e) => under(e.to, "shared/wiring") && !under(e.from, "functions", "infra", "shared/wiring"),
    );
    expect(offending).toEqual([]);
  });

  it("keeps adapters and the composition root out of shared/http, accounts, crypto and ports", () => {
    const offending = edges.filter(
      (e) =>
        under(e.from, "shared/http", "shared/accounts", "shared/crypto", "shared/ports") &&
        under(e.to, "shared/adapters", "shared/wiring"),
    );
    expect(offending).toEqual([]);
  });

  it("points inward: shared/ never imports functions/ or infra/, functions/ never imports infra/", () => {
    const offending = edges.filter(
      (e) =>
        (under(e.from, "shared") && under(e.to, "functions", "infra")) ||
        (under(e.from, "functions") && under(e.to, "infra")),
    );
    expect(offending).toEqual([]);
  });

  it("has no import cycle", () => {
    expect(cycles()).toEqual([]);
  });
});
