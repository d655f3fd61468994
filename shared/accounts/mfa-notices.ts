/**
 * Tells an account's address about its second factor (issue #16: every enrolment change and
 * failure is mailed): one `email.mfa_changed` notice per event, to the address on record (never
 * one from a request), carrying no code, secret or link.
 */
import type { MfaEvent } from "../notifications/messages";
import type { UserRecord } from "../ports/user-store";
import type { DepsOf } from "./deps";
import { openUser } from "./user-codec";

/** The dependencies a notice reads. */
export const MFA_NOTICE_DEPS = ["notifier", "ring"] as const;

/**
 * Queues the notice of `event` for `record`'s owner.
 * @param dedupKey what makes two notices the same one (the queue delivers one per id), e.g. the MFA
 *   token's hash for a failed verification, so a burst of wrong codes mails once per login.
 * @throws whatever the queue throws (callers run it after the change itself is stored).
 */
export async function sendMfaNotice(
  deps: DepsOf<typeof MFA_NOTICE_DEPS>,
  kind: string,
  record: UserRecord,
  event: MfaEvent,
  dedupKey: string,
): Promise<void> {
  const profile = await openUser(deps.ring, kind, record);
  await deps.notifier.notify(
    { type: "email.mfa_changed", kind, to: profile.email, name: profile.firstName, event },
    `mfa:${event}:${kind}:${dedupKey}`,
  );
}
