import { describe, expect, it } from "vitest";
import {
  EVENTS_METRIC,
  eventSeries,
  HTTP_REQUESTS_METRIC,
  httpRequestSeries,
  metricFamilies,
  WINDOW_METRIC,
} from "../../shared/observability/http-metrics";
import {
  bucketOf,
  escapeLabelValue,
  familyOf,
  renderPrometheus,
  seriesKey,
  statusClass,
} from "../../shared/observability/metrics";

describe("series identifiers", () => {
  it("are the Prometheus sample prefix, labels in the order given", () => {
    expect(httpRequestSeries("/User1/login", "post", "4xx")).toBe(
      'auth_http_requests_total{route="/User1/login",method="POST",status_class="4xx"}',
    );
    expect(eventSeries("login_failure", "User1")).toBe(
      'auth_events_total{event="login_failure",kind="User1"}',
    );
    expect(eventSeries("signature_rejected", null)).toBe(
      'auth_events_total{event="signature_rejected",kind="none"}',
    );
    expect(seriesKey("up")).toBe("up");
  });

  it("escapes label values so a hostile route or kind cannot break the exposition", () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const series = seriesKey("x", { route: '/a"} 1\nevil 2' });
    expect(series).toBe('x{route="/a\\"} 1\\nevil 2"}');
    expect(series).not.toContain("\n");
  });

  it("refuses names outside the Prometheus grammar and maps unknown methods to OTHER", () => {
    expect(() => seriesKey("bad-name")).toThrow(TypeError);
    expect(() => seriesKey("ok", { "bad-label": "x" })).toThrow(TypeError);
    expect(httpRequestSeries("/x", "PROPFIND", "4xx")).toContain('method="OTHER"');
  });

  it("classes statuses and buckets time by whole minutes", () => {
    expect([200, 201, 302, 401, 429, 500, 503].map(statusClass)).toEqual([
      "2xx",
      "2xx",
      "3xx",
      "4xx",
      "4xx",
      "5xx",
      "5xx",
    ]);
    expect(bucketOf(59_999)).toBe(0);
    expect(bucketOf(60_000)).toBe(1);
    expect(familyOf('auth_events_total{event="x"}')).toBe(EVENTS_METRIC);
  });
});

describe("Prometheus text exposition (format 0.0.4)", () => {
  const totals = new Map<string, number>([
    [httpRequestSeries("/User1/login", "POST", "4xx"), 3],
    [httpRequestSeries("/health", "GET", "2xx"), 7],
    [eventSeries("login_failure", "User1"), 3],
    [httpRequestSeries("/User1/", "GET", "2xx"), -1],
    ['some_future_metric{a="b"}', 5],
    [WINDOW_METRIC, 3600],
  ]);
  const text = renderPrometheus(totals, metricFamilies(60));
  const lines = text.trimEnd().split("\n");

  it("gives every family a HELP and a TYPE line before its samples, and ends with a newline", () => {
    expect(text.endsWith("\n")).toBe(true);
    for (const name of [HTTP_REQUESTS_METRIC, EVENTS_METRIC, WINDOW_METRIC]) {
      const help = lines.indexOf(lines.find((l) => l.startsWith(`# HELP ${name} `)) ?? "");
      expect(help).toBeGreaterThanOrEqual(0);
      expect(lines[help + 1]).toBe(`# TYPE ${name} gauge`);
      const samples = lines
        .map((l, i) => [l, i] as const)
        .filter(([l]) => familyOf(l.split(" ")[0] ?? "") === name);
      for (const [, i] of samples) expect(i).toBeGreaterThan(help + 1);
    }
    expect(lines.find((l) => l.startsWith(`# HELP ${HTTP_REQUESTS_METRIC}`))).toMatch(/last 60 minutes/);
  });

  it("writes one `series value` line per sample, sorted, with negatives shown as 0 and unknown families left out", () => {
    const samples = lines.filter((l) => !l.startsWith("#"));
    expect(samples).toEqual([
      'auth_http_requests_total{route="/User1/",method="GET",status_class="2xx"} 0',
      'auth_http_requests_total{route="/User1/login",method="POST",status_class="4xx"} 3',
      'auth_http_requests_total{route="/health",method="GET",status_class="2xx"} 7',
      'auth_events_total{event="login_failure",kind="User1"} 3',
      "auth_metrics_window_seconds 3600",
    ]);
    // Each sample line matches the text format's grammar: name{labels} value.
    for (const line of samples) expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? -?\d+(\.\d+)?$/);
  });
});
