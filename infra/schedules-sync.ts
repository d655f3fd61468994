/**
 * `npm run schedules:sync [-- --dry-run]`: the deploy step after `sst deploy` that makes QStash hold
 * this deployment's job schedules (`infra/schedules.ts`): creates or updates one per scheduled job
 * of the manifest and deletes those of jobs that no longer exist. Reads `APP_URL` (the deployed
 * base URL the schedules deliver to), `QSTASH_TOKEN` and optionally `QSTASH_URL` from the
 * environment (or `.env`). Exits 0 after printing what it did, 1 with the reason otherwise.
 */
import { Client } from "@upstash/qstash";
import { buildManifest } from "./functions";
import { desiredSchedules, jobsBaseOf, syncSchedules } from "./schedules";

async function main(): Promise<void> {
  try {
    process.loadEnvFile(".env");
  } catch {
    // No .env: the environment is enough.
  }
  const dryRun = process.argv.includes("--dry-run");
  const appUrl = process.env.APP_URL?.trim();
  const token = process.env.QSTASH_TOKEN?.trim();
  const missing = [...(appUrl ? [] : ["APP_URL"]), ...(token ? [] : ["QSTASH_TOKEN"])];
  if (missing.length > 0)
    throw new Error(`schedules:sync needs ${missing.join(" and ")} (the deployed API's)`);
  const desired = desiredSchedules(await buildManifest(), appUrl as string);
  if (dryRun) {
    for (const s of desired) console.log(`${s.scheduleId}  ${s.cron}  → ${s.destination}`);
    return;
  }
  const client = new Client({
    token: token as string,
    ...(process.env.QSTASH_URL ? { baseUrl: process.env.QSTASH_URL } : {}),
    devMode: false,
    enableTelemetry: false,
  });
  const report = await syncSchedules(client, desired, appUrl as string);
  console.log(`QStash schedules under ${jobsBaseOf(appUrl as string)}:`);
  for (const [what, ids] of Object.entries(report))
    if (ids.length > 0) console.log(`  ${what}: ${ids.join(", ")}`);
}

main().catch((err: unknown) => {
  console.error(`schedules:sync failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
