import { ConfigError } from "../../shared/errors";
import { startLocalRuntime } from "./runtime";

/**
 * `npm run dev`: runs every function locally on one port with local stand-ins, prints a banner with
 * the base URL, the routes and what was started, and stops everything it started on Ctrl-C.
 */
async function main(): Promise<void> {
  try {
    process.loadEnvFile(".env");
  } catch {
    // No .env file: the environment and generated dev secrets are enough.
  }
  const runtime = await startLocalRuntime();
  const routes = runtime.manifest.flatMap((fn) => fn.routes.map((r) => `  ${r.method.padEnd(6)} ${r.path}`));
  console.log(
    [
      "",
      `Auth service running at ${runtime.url}`,
      ...runtime.notes.map((n) => `  · ${n}`),
      "",
      "Routes:",
      ...routes,
      ...(runtime.outbox ? [`  GET    /_dev/outbox   (local only: captured mail and SMS)`] : []),
      "",
      `Try: curl ${runtime.url}/health`,
      "Press Ctrl-C to stop.",
    ].join("\n"),
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    runtime.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
