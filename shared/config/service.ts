import * as z from "zod";
import type { Section } from "./section";
import { parseUserKinds } from "./user-kinds";

/** The deployment stage; `production` turns on the strict rules of every other section. */
export type Environment = "development" | "test" | "staging" | "production";

/** What the service is and whom it serves. */
export interface ServiceConfig {
  environment: Environment;
  /** Display name, e.g. in mail (default `Auth Service`). */
  appName: string;
  /** The user pools served (`USER_KINDS`), each with its own routes, tables and JWT audience. */
  userKinds: string[];
}

/** Variables of the service section. */
export const serviceEnv = z.object({
  ENVIRONMENT: z.enum(["development", "test", "staging", "production"]).default("development"),
  APP_NAME: z.string().trim().min(1).max(100).default("Auth Service"),
  USER_KINDS: z.string().optional(),
});

/** Parses `USER_KINDS` (see {@link parseUserKinds} for its rules) and maps the service variables. */
export function parseService(env: z.output<typeof serviceEnv>): Section<ServiceConfig> {
  const kinds = parseUserKinds(env.USER_KINDS);
  if (!kinds.ok) return { value: undefined, problems: [{ variable: "USER_KINDS", message: kinds.problem }] };
  return {
    value: { environment: env.ENVIRONMENT, appName: env.APP_NAME, userKinds: kinds.kinds },
    problems: [],
  };
}
