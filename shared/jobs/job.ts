/**
 * What a scheduled job is (DESIGN.md §7): a name, whether it runs once per user kind, and a `step`
 * that does one bounded batch of work from a cursor and says where the next batch starts. The
 * runner (`runner.ts`) strings steps together within a time budget, saves progress after each,
 * and publishes a continuation when the budget is spent; a job only has to make each step
 * idempotent (a step repeated from the same cursor must leave the same result).
 */
import type { FunctionContext } from "../http/context";

/** The run a step belongs to. */
export interface JobRun {
  /** `[A-Za-z0-9_-]{1,64}`, the same in every part of the run. */
  id: string;
  /** When the run's first part started, epoch milliseconds, on the use-cases' clock. */
  startedAtMs: number;
}

/** One step's input. */
export interface JobStepInput {
  /** The user kind this step works on, or `null` for a job that is not per kind. */
  kind: string | null;
  /** Where to continue, as the previous step of this kind returned it; `null` to start the kind. */
  cursor: string | null;
  run: JobRun;
  /** Records one step should read at most (`JOB_BATCH_SIZE`). */
  batchSize: number;
}

/** One step's result. */
export interface JobStepResult {
  /** Where the next step of this kind starts; `null` when the kind is finished. */
  cursor: string | null;
  /** What the step did (`{purged: 3, scanned: 200}`), summed over the run. */
  counts: Record<string, number>;
  /** A reading to report for the kind once it is finished (e.g. Bloom fill); replaces earlier ones. */
  report?: Record<string, number | null>;
}

/** A scheduled job; `D` is what its steps read, built once per cold start from the context. */
export interface Job<D> {
  /** The route stem: the job answers `POST /jobs/<name>` (`bloom-rebuild`). */
  name: string;
  /** Runs once per user kind (each kind in turn, or the one a manual run names). */
  perKind: boolean;
  /** Builds the step dependencies from the function context (lazily, on the first delivery). */
  deps(ctx: FunctionContext): Promise<D>;
  /** Does one batch. Throws on faults (the part answers 5xx; QStash retries it from the saved progress). */
  step(deps: D, input: JobStepInput): Promise<JobStepResult>;
}

/** Declares a job (identity, keeps the dependency type). */
export function defineJob<D>(job: Job<D>): Job<D> {
  return job;
}
