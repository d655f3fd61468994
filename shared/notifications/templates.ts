/**
 * Email and SMS templates of the background delivery functions. Pure functions, no I/O.
 *
 * Rules (DESIGN.md §9, OWASP XSS Prevention Cheat Sheet rule 1 and 2):
 * - every interpolated value is HTML-escaped in the HTML part (element content and double-quoted
 *   attributes); the text part carries the same words without markup;
 * - a link is used exactly as the publisher built it from the configured `APP_URL` (never from a
 *   `Host` header), shown both as a button-styled anchor and as plain text, and only when it is an
 *   absolute `http:`/`https:` URL;
 * - plain, accessible HTML: `lang`, `<title>`, descriptive link text, inline styles only, no
 *   external images, fonts or stylesheets (nothing that tracks the reader or breaks offline);
 * - the output depends on the message alone (no dates, no random ids), so a retried send has the
 *   same payload and Resend's `Idempotency-Key` accepts it as the same request.
 */
import { escapeHtml } from "../http/pages";
import type { MfaEvent, Notification } from "./messages";

/** Every email notification (`email.*`). */
export type EmailNotification = Exclude<Notification, { type: "sms.otp" }>;
/** Every SMS notification (`sms.*`). */
export type SmsNotification = Extract<Notification, { type: "sms.otp" }>;

/** A rendered email: subject line, HTML part and plain-text part. */
export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/** What a template needs besides the message. */
export interface TemplateContext {
  /** Product name shown to the reader (`APP_NAME`). */
  appName: string;
}

/** Lifetime of an SMS one-time code, minutes (DESIGN.md §9: OTPs live 5 minutes). */
export const OTP_TTL_MINUTES = 5;

/** Longest display name put into a greeting, in characters; longer names are cut with "…". */
const MAX_GREETING_NAME_CHARS = 60;

/** `true` for an `email.*` notification (narrows the type). */
export function isEmailNotification(message: Notification): message is EmailNotification {
  return message.type.startsWith("email.");
}

/** `true` for an `sms.*` notification (narrows the type). */
export function isSmsNotification(message: Notification): message is SmsNotification {
  return message.type === "sms.otp";
}

/** Control and format characters (CR/LF, tabs, bidi overrides, zero-width): never shown to a reader. */
const INVISIBLE = /[\p{Cc}\p{Cf}\u2028\u2029]+/gu;

/** Collapses invisible characters and runs of whitespace into single spaces. */
function oneLine(text: string): string {
  return text.replace(INVISIBLE, " ").replace(/\s+/g, " ").trim();
}

/**
 * The name to greet the reader with, or `null` for the neutral "Hello,". A name is typed by whoever
 * registered, and the verification email goes to an address they typed too, so the name is the one
 * piece of attacker-chosen text in a mail we send: anything that looks like a link or an address
 * (`://`, `www.`, `@`, `word.tld`) is not echoed, which keeps sign-up from being a spam relay.
 */
function greetingName(name: string): string | null {
  const clean = oneLine(name);
  if (clean === "" || /:\/\/|www\.|@|[\p{L}\p{N}-]\.[\p{L}]{2,}/iu.test(clean)) return null;
  const chars = [...clean];
  return chars.length > MAX_GREETING_NAME_CHARS
    ? `${chars.slice(0, MAX_GREETING_NAME_CHARS).join("")}…`
    : clean;
}

/**
 * Checks a link before it goes into an `href`.
 * @throws RangeError when it is not an absolute http(s) URL (e.g. `javascript:`): the publisher always
 *   builds links from `APP_URL`, so anything else is a bug that must not reach a reader.
 */
function checkedLink(link: string): string {
  let protocol: string;
  try {
    protocol = new URL(link).protocol;
  } catch {
    throw new RangeError("notification link is not an absolute URL");
  }
  if (protocol !== "https:" && protocol !== "http:") throw new RangeError("notification link is not http(s)");
  return link;
}

/** The words of one email, as plain text; {@link layout} turns them into the HTML and text parts. */
interface EmailContent {
  subject: string;
  /** Paragraphs before the action. */
  intro: string[];
  /** The call to action: a button-styled link plus the same link in plain text. */
  action?: { label: string; link: string };
  /** Paragraphs after the action. */
  outro: string[];
}

function content(message: EmailNotification, app: string): EmailContent {
  switch (message.type) {
    case "email.verify":
      return {
        subject: `Verify your email address for ${app}`,
        intro: [`Thanks for signing up for ${app}. Please confirm that this is your email address.`],
        action: { label: "Verify email address", link: checkedLink(message.link) },
        outro: [
          "This link can be used once and expires soon.",
          `If you did not create an account with ${app}, you can ignore this email.`,
        ],
      };
    case "email.welcome":
      return {
        subject: `Welcome to ${app}`,
        intro: [`Your email address is verified and your ${app} account is ready to use.`],
        outro: ["If you did not create this account, please contact support."],
      };
    case "email.signup_attempt":
      return {
        subject: `Someone tried to sign up for ${app} with your email address`,
        intro: [
          `Someone just tried to create a ${app} account with this email address, which already has an account.`,
          "If it was you, log in with your existing account, or reset your password if you have forgotten it.",
        ],
        outro: ["If it was not you, you can ignore this email. Your account has not been changed."],
      };
    case "email.password_reset":
      return {
        subject: `Reset your ${app} password`,
        intro: [`We received a request to reset the password of your ${app} account.`],
        action: { label: "Reset password", link: checkedLink(message.link) },
        outro: [
          "This link can be used once and expires soon. Resetting your password signs you out everywhere.",
          "If you did not ask for this, you can ignore this email. Your password will not change.",
        ],
      };
    case "email.password_changed":
      return {
        subject: `Your ${app} password was changed`,
        intro: [`The password of your ${app} account was just changed, and every session was signed out.`],
        outro: ["If you did not do this, reset your password right away and contact support."],
      };
    case "email.mfa_changed":
      return mfaContent(message.event, app);
    case "email.account_deleted":
      return {
        subject: `Your ${app} account has been deleted`,
        intro: [`Your ${app} account and the personal data it held have been deleted.`],
        outro: ["If you did not do this, please contact support."],
      };
  }
}

/** What each second-factor event says (none of them carries a code, secret or link). */
const MFA_EVENT_TEXT: Record<MfaEvent, { subject: string; what: string }> = {
  totp_enabled: {
    subject: "Two-factor login with an authenticator app was turned on",
    what: "An authenticator app was set up as a second factor, and every other session was signed out.",
  },
  totp_disabled: {
    subject: "Two-factor login with an authenticator app was turned off",
    what: "The authenticator app was removed as a second factor.",
  },
  sms_enabled: {
    subject: "Two-factor login with SMS codes was turned on",
    what: "SMS codes to your verified phone were turned on as a second factor, and every other session was signed out.",
  },
  sms_disabled: {
    subject: "Two-factor login with SMS codes was turned off",
    what: "SMS codes were removed as a second factor.",
  },
  recovery_codes_regenerated: {
    subject: "New recovery codes were created",
    what: "A new set of recovery codes was created; the previous codes no longer work.",
  },
  recovery_code_used: {
    subject: "A recovery code was used to log in",
    what: "A recovery code was used to log in; it cannot be used again.",
  },
  change_failed: {
    subject: "A two-factor settings change was refused",
    what: "A signed-in session tried to change your two-factor settings with a wrong password or code.",
  },
  verification_failed: {
    subject: "A wrong two-factor code was entered",
    what: "Someone entered your password correctly, then a wrong second-factor code.",
  },
};

function mfaContent(event: MfaEvent, app: string): EmailContent {
  const text = MFA_EVENT_TEXT[event];
  return {
    subject: `${app}: ${text.subject}`,
    intro: [`${text.what} (${app} account)`],
    outro: ["If this was not you, change your password right away and contact support."],
  };
}

const STYLE = {
  body: "margin:0;padding:24px 12px;background:#ffffff;color:#1f2328;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5",
  main: "max-width:560px;margin:0 auto",
  // White on #1a4fbf is a 7.1:1 contrast ratio (WCAG AA needs 4.5:1); the underline keeps it a link without colour.
  button:
    "display:inline-block;padding:12px 20px;background:#1a4fbf;color:#ffffff;border-radius:6px;font-weight:bold;text-decoration:underline",
  link: "color:#1a4fbf;word-break:break-all",
  small: "color:#57606a;font-size:14px",
};

function layout(c: EmailContent, name: string | null, app: string): RenderedEmail {
  const greeting = name === null ? "Hello," : `Hi ${name},`;
  const para = (text: string) => `<p>${escapeHtml(text)}</p>`;
  const htmlParts = [para(greeting), ...c.intro.map(para)];
  const textParts = [greeting, ...c.intro];
  if (c.action) {
    const href = escapeHtml(c.action.link);
    htmlParts.push(
      `<p><a href="${href}" style="${STYLE.button}">${escapeHtml(c.action.label)}</a></p>`,
      `<p style="${STYLE.small}">If the button does not work, copy this link into your browser:<br>` +
        `<a href="${href}" style="${STYLE.link}">${href}</a></p>`,
    );
    textParts.push(`${c.action.label}:\n${c.action.link}`);
  }
  htmlParts.push(...c.outro.map(para), `<p style="${STYLE.small}">${escapeHtml(`— ${app}`)}</p>`);
  textParts.push(...c.outro, `— ${app}`);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(c.subject)}</title></head>
<body style="${STYLE.body}"><main style="${STYLE.main}">
${htmlParts.join("\n")}
</main></body></html>`;
  return { subject: c.subject, html, text: `${textParts.join("\n\n")}\n` };
}

/**
 * Renders an email notification.
 *
 * @param message any `email.*` notification; `name` is greeted (control characters removed, at most
 *   60 characters, omitted when it looks like a link or address), `link` is used verbatim.
 * @param ctx.appName the product name from configuration.
 * @returns `{subject, html, text}`: a one-line subject, a complete HTML document with every value
 *   escaped, and the same content as plain text (links on their own line).
 * @throws RangeError when a `link` is not an absolute http(s) URL.
 */
export function renderEmail(message: EmailNotification, ctx: TemplateContext): RenderedEmail {
  const app = oneLine(ctx.appName);
  return layout(content(message, app), greetingName(message.name), app);
}

/**
 * Renders an SMS notification: `Your <app> verification code is 123456. It expires in 5 minutes.`
 * Nothing else: no link, no name, no account detail (an SMS preview shows on a locked screen).
 *
 * @param message the `sms.otp` notification (`code` is 6 digits).
 * @param ctx.appName the product name from configuration.
 */
export function renderSms(message: SmsNotification, ctx: TemplateContext): string {
  return `Your ${oneLine(ctx.appName)} verification code is ${message.code}. It expires in ${OTP_TTL_MINUTES} minutes.`;
}
