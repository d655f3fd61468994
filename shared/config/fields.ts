import * as z from "zod";

/**
 * Field schemas shared by the configuration sections. Every variable arrives as an optional string;
 * these trim it and either map it to a typed value or add an issue saying what is expected.
 */

/** An optional string; empty (after trimming) counts as absent. */
export const optionalString = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === "" ? undefined : v));

/**
 * An optional string that, when set and not empty, must match `pattern` (`message` says what is
 * expected). Empty stays `""` (callers treat it as absent with `||`).
 */
export const optionalMatching = (pattern: RegExp, message: string) =>
  z
    .string()
    .trim()
    .optional()
    .refine((v) => v === undefined || v === "" || pattern.test(v), message);

/** An integer from `min` to `max` inclusive; `fallback` when absent or empty. */
export const intIn = (min: number, max: number, fallback: number) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({
          code: "custom",
          message: `expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`,
        });
        return z.NEVER;
      }
      return n;
    });

/** An http(s) URL, without its trailing slashes. */
export const httpUrl = z
  .string()
  .trim()
  .refine((v) => /^https?:\/\/[^\s]+$/.test(v) && URL.canParse(v), "expected an http(s) URL")
  .transform((v) => v.replace(/\/+$/, ""));

/** An optional http(s) URL, without its trailing slashes; empty counts as absent. */
export const optionalUrl = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === "" ? undefined : v))
  .pipe(httpUrl.optional());
