import { describe, expect, it } from "vitest";
import { extractLinks } from "../../infra/local/outbox";
import { MFA_EVENTS, NotificationSchema } from "../../shared/notifications/messages";
import {
  type EmailNotification,
  renderEmail,
  renderSms,
  type SmsNotification,
} from "../../shared/notifications/templates";

const ctx = { appName: "Acme Auth" };
const LINK = "https://auth.example.com/User1/verify?token=Zm9v_YmFy-baz&x=1";

/** One valid message of every email type (parsed by the real schema, so the fixtures stay honest). */
const EMAILS: EmailNotification[] = (
  [
    { type: "email.verify", kind: "User1", to: "ada@example.com", name: "Ada", link: LINK },
    { type: "email.welcome", kind: "User1", to: "ada@example.com", name: "Ada" },
    { type: "email.signup_attempt", kind: "User1", to: "ada@example.com", name: "Ada" },
    { type: "email.password_reset", kind: "User1", to: "ada@example.com", name: "Ada", link: LINK },
    { type: "email.password_changed", kind: "User1", to: "ada@example.com", name: "Ada" },
    { type: "email.account_deleted", kind: "User1", to: "ada@example.com", name: "Ada" },
    { type: "email.mfa_changed", kind: "User1", to: "ada@example.com", name: "Ada", event: "totp_enabled" },
  ] as const
).map((m) => NotificationSchema.parse(m) as EmailNotification);

describe("second-factor notices", () => {
  it.each(MFA_EVENTS)("renders %s with its own subject and no code, secret or link", (event) => {
    const mail = renderEmail(
      NotificationSchema.parse({
        type: "email.mfa_changed",
        kind: "User1",
        to: "a@example.com",
        name: "Ada",
        event,
      }) as EmailNotification,
      ctx,
    );
    expect(mail.subject).toContain("Acme Auth");
    expect(extractLinks(mail.html)).toEqual([]);
    expect(mail.text).not.toMatch(/\d{6}/);
  });

  it("gives every event a different subject", () => {
    const subjects = MFA_EVENTS.map(
      (event) =>
        renderEmail(
          { type: "email.mfa_changed", kind: "User1", to: "a@example.com", name: "Ada", event },
          ctx,
        ).subject,
    );
    expect(new Set(subjects).size).toBe(MFA_EVENTS.length);
  });
});

const VERIFY = EMAILS[0] as Extract<EmailNotification, { type: "email.verify" }>;

const EMAIL_TYPES = NotificationSchema.options
  .map((o) => o.shape.type.value)
  .filter((t): t is EmailNotification["type"] => t.startsWith("email."));

/** Text content of the HTML with tags removed and the common entities decoded. */
function visibleText(html: string): string {
  return html
    .replace(/<[^>]*>/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

describe("email templates", () => {
  it("cover every email type of the notification schema", () => {
    expect(EMAILS.map((m) => m.type).sort()).toEqual([...EMAIL_TYPES].sort());
  });

  it.each(EMAILS.map((m) => [m.type, m] as const))(
    "%s renders a subject, an HTML document and a text part",
    (_, m) => {
      const out = renderEmail(m, ctx);
      expect(out.subject).toContain("Acme Auth");
      expect(out.subject).not.toMatch(/[\r\n]/);
      expect(out.html).toMatch(/^<!doctype html>\n<html lang="en">/);
      expect(out.html).toContain(`<title>${out.subject}</title>`);
      expect(out.html).toContain("Hi Ada,");
      expect(out.text).toContain("Hi Ada,");
      expect(out.text).toContain("Acme Auth");
      expect(out.text).not.toMatch(/<[a-z]/i);
      // No external resources: nothing is fetched when the mail is opened.
      expect(out.html).not.toMatch(/<img|<link|<script|url\(|@import|src=/i);
      // The recipient's address is for the envelope only, never the content.
      expect(out.html).not.toContain("ada@example.com");
      expect(out.text).not.toContain("ada@example.com");
    },
  );

  it.each(EMAILS.filter((m) => "link" in m).map((m) => [m.type, m] as const))(
    "%s shows the link verbatim as a button, as an anchor and in the text part",
    (_, m) => {
      const out = renderEmail(m, ctx);
      expect(extractLinks(out.html)).toEqual([LINK, LINK]);
      expect(out.html).toContain(`href="${LINK.replace("&", "&amp;")}"`);
      expect(visibleText(out.html)).toContain(LINK);
      expect(out.text.split("\n")).toContain(LINK);
    },
  );

  it("emails without a link contain no link at all", () => {
    for (const m of EMAILS.filter((e) => !("link" in e))) {
      const out = renderEmail(m, ctx);
      expect(extractLinks(out.html)).toEqual([]);
      expect(out.text).not.toMatch(/https?:\/\//);
    }
  });

  it("escapes markup in the name and the product name, so neither can inject HTML", () => {
    const hostile = "<script>alert(\"x\")</script><b onmouseover='y'>&amp;";
    for (const m of EMAILS) {
      const out = renderEmail({ ...m, name: hostile }, { appName: 'Evil <img src=x onerror="z">' });
      expect(out.html).not.toContain("<script");
      expect(out.html).not.toContain("<b ");
      expect(out.html).not.toContain("<img");
      expect(out.html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
      expect(out.html).toContain("&amp;amp;");
      expect(visibleText(out.html)).toContain(hostile);
      expect(out.text).toContain(hostile);
    }
  });

  it("escapes a quote in a link so it cannot break out of the href attribute", () => {
    const link = 'https://auth.example.com/User1/verify?token=a"onclick="b';
    const out = renderEmail({ ...VERIFY, link }, ctx);
    expect(out.html).not.toContain('"onclick="');
    expect(extractLinks(out.html)).toEqual([new URL(link).href, new URL(link).href]);
  });

  it("refuses a link that is not http(s)", () => {
    expect(() => renderEmail({ ...VERIFY, link: "javascript:alert(1)" }, ctx)).toThrow(RangeError);
    expect(() => renderEmail({ ...VERIFY, link: "/relative" }, ctx)).toThrow(RangeError);
  });

  it("keeps a typed name from smuggling lines, links or addresses into the mail", () => {
    const multiLine = renderEmail({ ...VERIFY, name: "Ada\r\n\r\nClick evil\u202e" }, ctx);
    expect(multiLine.text).toContain("Hi Ada Click evil,");
    for (const spam of [
      "Win at https://evil.test",
      "visit www.evil.test",
      "mail me@evil.test",
      "see evil.com now",
    ]) {
      const out = renderEmail({ ...VERIFY, name: spam }, ctx);
      expect(out.text).toContain("Hello,");
      expect(out.text).not.toContain("evil");
      expect(out.html).not.toContain("evil");
    }
    const long = renderEmail({ ...VERIFY, name: "x".repeat(200) }, ctx);
    expect(long.text).toContain(`Hi ${"x".repeat(60)}…,`);
    expect(renderEmail({ ...VERIFY, name: "  " }, ctx).text).toContain("Hello,");
  });

  it("renders the same bytes for the same message (a retry is the same idempotent request)", () => {
    for (const m of EMAILS) expect(renderEmail(m, ctx)).toEqual(renderEmail(m, ctx));
  });
});

describe("SMS template", () => {
  const otp: SmsNotification = { type: "sms.otp", kind: "User1", to: "+15551234567", code: "012345" };

  it("says only the product, the code and its lifetime", () => {
    expect(renderSms(otp, ctx)).toBe("Your Acme Auth verification code is 012345. It expires in 5 minutes.");
  });

  it("never includes the phone number", () => {
    expect(renderSms(otp, ctx)).not.toContain("5551234567");
  });
});
