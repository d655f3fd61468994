/**
 * A job run's position, carried in each continuation message and saved in Redis after every
 * step, so a part that is killed mid-way (Lambda timeout, crash) resumes from its last saved step
 * when QStash delivers it again, and a duplicate of a part already done is recognised.
 */
import * as z from "zod";
import { jobKeys } from "../accounts/keys";
import type { Kv } from "../ports/kv";

/** How long a run's saved progress is kept after its last write, seconds (a week). */
export const PROGRESS_TTL_SECONDS = 7 * 86_400;

const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;
const counts = z.record(z.string().regex(/^[a-z_]{1,32}$/), z.number().int().min(0));

/**
 * The body of a job message (`POST /jobs/<name>`). Every field is optional: a schedule's delivery
 * (empty body or `{}`) starts a new run; `npm run job` names the run and may restrict it to one
 * kind; a continuation carries the whole position. Unknown fields are refused.
 */
export const jobMessageSchema = z
  .object({
    /** The run id. */
    run: z.string().regex(RUN_ID).optional(),
    /** Which part of the run this delivery is (1 for the first). */
    part: z.number().int().min(1).max(1_000_000).optional(),
    /** Restricts a per-kind job to one kind. */
    kind: z.string().min(1).max(64).optional(),
    /** Index of the kind (or 0 for a job that is not per kind) the part starts in. */
    scope: z.number().int().min(0).max(1000).optional(),
    /** Where in that kind the part starts. */
    cursor: z.string().max(512).nullable().optional(),
    /** When the run started, epoch milliseconds. */
    startedAtMs: z.number().int().min(0).optional(),
    /** Counts so far. */
    counts: counts.optional(),
  })
  .strict();

/** A parsed job message. */
export type JobMessageBody = z.infer<typeof jobMessageSchema>;

/** A run's saved progress. */
export interface JobProgress {
  /** The part working now, or the next one to work (after a continuation was published). */
  part: number;
  scope: number;
  cursor: string | null;
  counts: Record<string, number>;
  /** Per kind (or `all`), the last step's report. */
  reports: Record<string, Record<string, number | null>>;
  startedAtMs: number;
  /** `running` while parts remain, `done` when every kind is finished, `failed` after a part threw (a retry may resume). */
  state: "running" | "done" | "failed";
  /** The problem code of the last failure. */
  error?: string;
  /** The kind a manual run is restricted to. */
  kind?: string;
}

/** Reads a run's progress; `null` when absent or unreadable. @throws KvUnavailableError. */
export async function readProgress(kv: Kv, job: string, runId: string): Promise<JobProgress | null> {
  const raw = await kv.get(jobKeys.progress(job, runId));
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as JobProgress;
  } catch {
    return null;
  }
}

/** Saves a run's progress (one SET with {@link PROGRESS_TTL_SECONDS}). @throws KvUnavailableError. */
export async function saveProgress(kv: Kv, job: string, runId: string, progress: JobProgress): Promise<void> {
  await kv.set(jobKeys.progress(job, runId), JSON.stringify(progress), { ttlSeconds: PROGRESS_TTL_SECONDS });
}
