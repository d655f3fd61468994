import type { z } from "zod";
import { ConfigError } from "../errors";

/** One thing wrong with the environment: the variable at fault and what it expects. */
export interface Problem {
  variable: string;
  message: string;
}

/** Whether a parser's result is a {@link Problem} rather than the value it parses. */
export const isProblem = (result: object): result is Problem => "variable" in result && "message" in result;

/**
 * What a section parser returns: its slice of the configuration, or the problems that prevent it.
 * Never both: a section with any problem has no value, so `parseConfig` builds a configuration only
 * from sections that all parsed.
 */
export type Section<T> = { value: T; problems: [] } | { value: undefined; problems: Problem[] };

/**
 * The result of a section parser that reported `problems` while checking its rules: `build()` is
 * called only when there are none (so it may rely on every check having passed).
 */
export function settle<T>(problems: Problem[], build: () => T): Section<T> {
  return problems.length === 0 ? { value: build(), problems: [] } : { value: undefined, problems };
}

/** The values of sections by name, when every one of them parsed; `undefined` when any did not. */
export function valuesOf<S extends Record<string, Section<unknown>>>(
  sections: S,
): { [K in keyof S]: NonNullable<S[K]["value"]> } | undefined {
  const entries = Object.entries(sections);
  if (entries.some(([, section]) => section.value === undefined)) return undefined;
  return Object.fromEntries(entries.map(([name, section]) => [name, section.value])) as {
    [K in keyof S]: NonNullable<S[K]["value"]>;
  };
}

/** `NAME: what it expects`, the form of one entry of {@link ConfigError.problems}. */
export const formatProblem = (p: Problem): string => `${p.variable}: ${p.message}`;

/**
 * Parses the environment with the field schema of every section, collecting one problem per
 * malformed variable (its first issue) rather than stopping at the first one. The malformed
 * variables are then left out, so they take their defaults and the sections' rules can still check
 * every other variable: one error names every offending variable.
 * @returns the parsed variables, the problems found, and the names of the malformed variables (a
 *   section's later problem about one of them adds nothing and is not reported).
 * @throws ConfigError if the environment still fails without its malformed variables (a field
 *   without a default that only fails when absent).
 */
export function parseEnvironment<S extends z.ZodObject>(
  schema: S,
  source: Record<string, string | undefined>,
): { env: z.output<S>; problems: string[]; malformed: Set<string> } {
  const problems: string[] = [];
  const malformed = new Set<string>();
  // Parsed once per instance: zod's compiled fast path (`new Function` per object schema) would
  // cost a cold start more than it saves.
  const once = { jitless: true } as const;
  let parsed = schema.safeParse(source, once);
  if (parsed.success) return { env: parsed.data, problems, malformed };
  for (const issue of parsed.error.issues) {
    const variable = String(issue.path[0] ?? "environment");
    if (!malformed.has(variable)) problems.push(formatProblem({ variable, message: issue.message }));
    malformed.add(variable);
  }
  parsed = schema.safeParse(
    Object.fromEntries(Object.entries(source).filter(([k]) => !malformed.has(k))),
    once,
  );
  if (!parsed.success) throw new ConfigError(problems);
  return { env: parsed.data, problems, malformed };
}

/**
 * One problem per variable of `needs` that is absent from `env`: `required in production (<why>)`.
 * Call it only for a production environment.
 * @param needs `[variable, what needs it]` pairs, in the order they are reported.
 */
export function requiredInProduction<E>(env: E, needs: [keyof E & string, string][]): Problem[] {
  return needs
    .filter(([variable]) => env[variable] === undefined)
    .map(([variable, why]) => ({ variable, message: `required in production (${why})` }));
}
