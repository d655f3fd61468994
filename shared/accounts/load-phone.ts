import type { parsePhone } from "./phone";

/**
 * {@link parsePhone}, loaded on first use. libphonenumber's full metadata is about 195 KiB of a
 * function's bundle (of 650 KiB at import), and most requests of the functions that may parse a
 * number carry none: a name change, a code re-sent to the stored number, any refused request.
 * With SST's code splitting the module becomes a chunk of its own, read by the first request that
 * needs it (then cached by the module system for the life of the instance).
 */
export async function loadParsePhone(): Promise<typeof parsePhone> {
  return (await import("./phone")).parsePhone;
}
