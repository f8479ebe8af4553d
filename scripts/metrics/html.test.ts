import { DefaultTreeAdapterMap, parse } from "parse5";
import { computeMetrics, MetricsReport } from "./compute";
import { renderHtml } from "./html";

/**
 * The generated page, parsed with a real HTML parser (parse5, the WHATWG algorithm browsers use):
 * the figures and the timeline are there, text is escaped, and nothing is loaded from elsewhere.
 */

type Node = DefaultTreeAdapterMap["node"];
type Element = DefaultTreeAdapterMap["element"];

function elements(node: Node): Element[] {
  const out: Element[] = [];
  const walk = (n: Node) => {
    if ("tagName" in n) out.push(n as Element);
    const children = "childNodes" in n ? n.childNodes : [];
    for (const c of children) walk(c as Node);
    if ("content" in n && n.content) walk(n.content as unknown as Node);
  };
  walk(node);
  return out;
}

function text(node: Node): string {
  if (node.nodeName === "#text") return (node as DefaultTreeAdapterMap["textNode"]).value;
  return ("childNodes" in node ? node.childNodes : []).map((c) => text(c as Node)).join("");
}

const attr = (el: Element, name: string) => el.attrs.find((a) => a.name === name)?.value;
const byId = (all: Element[], id: string) => all.find((el) => attr(el, "id") === id);

const d = (iso: string) => new Date(iso);

/** A small history: one release, one release ECS rolled back, a flag team → 5% → kill. */
function report(): MetricsReport {
  const rev = (n: number) => `arn:aws:ecs:us-east-1:123456789012:task-definition/friday-staging-app:${n}`;
  return computeMetrics({
    stack: "staging",
    window: { days: 7, from: d("2026-06-23T00:00:00Z"), to: d("2026-06-30T00:00:00Z") },
    deployments: [
      {
        arn: "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/s/one",
        status: "SUCCESSFUL",
        createdAt: d("2026-06-24T10:00:00Z"),
        startedAt: d("2026-06-24T10:00:00Z"),
        endedAt: d("2026-06-24T10:20:00Z"),
        targetTaskDefinition: rev(2),
        sourceTaskDefinition: rev(1),
        targetImageDigest: `sha256:${"a".repeat(64)}`,
        sourceImageDigest: `sha256:${"0".repeat(64)}`,
      },
      {
        arn: "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/s/two",
        status: "ROLLBACK_SUCCESSFUL",
        createdAt: d("2026-06-26T10:00:00Z"),
        startedAt: d("2026-06-26T10:00:00Z"),
        endedAt: d("2026-06-26T10:30:00Z"),
        rollbackStartedAt: d("2026-06-26T10:26:00Z"),
        targetTaskDefinition: rev(3),
        sourceTaskDefinition: rev(2),
        targetImageDigest: `sha256:${"b".repeat(64)}`,
        sourceImageDigest: `sha256:${"a".repeat(64)}`,
        reason: "circuit breaker: <3 failed tasks> & \"unhealthy\"",
      },
    ],
    flags: [
      { deploymentNumber: 1, state: "COMPLETE", startedAt: d("2026-06-24T12:00:00Z"), completedAt: d("2026-06-24T12:10:00Z"), flag: "beta", step: "team", from: "off", to: "team (1 user)" },
      { deploymentNumber: 2, state: "COMPLETE", startedAt: d("2026-06-25T12:00:00Z"), completedAt: d("2026-06-25T12:10:00Z"), flag: "beta", step: "percent", percent: 5, from: "team (1 user)", to: "team (1 user) + 5% of users" },
      { deploymentNumber: 3, state: "COMPLETE", startedAt: d("2026-06-27T12:00:00Z"), completedAt: d("2026-06-27T12:00:30Z"), flag: "beta", step: "kill", from: "team (1 user) + 5% of users", to: "off" },
    ],
    warnings: ["Flag history not read: <denied>"],
  });
}

describe("renderHtml", () => {
  const html = renderHtml(report(), d("2026-06-30T00:00:05Z"));
  const document = parse(html);
  const all = elements(document as unknown as Node);

  it("is a complete document with a title naming the stack and window", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true);
    const title = all.find((el) => el.tagName === "title")!;
    expect(text(title)).toBe("friday metrics: staging, last 7 day(s)");
    expect(attr(all.find((el) => el.tagName === "html")!, "lang")).toBe("en");
  });

  it("shows the four figures with their values", () => {
    const figures = all.filter((el) => attr(el, "class") === "figure");
    const read = (el: Element) => {
      const part = (cls: string) => text(elements(el as unknown as Node).find((x) => attr(x, "class") === cls)!);
      return [attr(el, "data-figure"), text(elements(el as unknown as Node).find((x) => x.tagName === "h2")!), part("value")];
    };
    expect(figures.map(read)).toEqual([
      ["deployment-frequency", "Deployment frequency", "0.14/day"],
      ["lead-time-for-changes", "Lead time for changes", "n/a"],
      ["change-failure-rate", "Change failure rate", "50%"],
      ["time-to-restore", "Time to restore", "2m 15s"],
    ]);
  });

  it("lists deploys and flag releases on one timeline, oldest first, failures marked", () => {
    const table = byId(all, "timeline")!;
    const rows = elements(table as unknown as Node).filter((el) => el.tagName === "tr" && attr(el, "data-type"));
    const cells = rows.map((r) => elements(r as unknown as Node).filter((c) => c.tagName === "td").map(text));
    expect(cells.map((c) => [c[0], c[1], c[2], c[3]])).toEqual([
      ["2026-06-24 10:00Z", "deploy", "deploy aaaaaaaaaaaa", "SUCCESSFUL"],
      ["2026-06-24 12:00Z", "flag", "flag beta → team", "COMPLETE"],
      ["2026-06-25 12:00Z", "flag", "flag beta → 5%", "COMPLETE"],
      ["2026-06-26 10:00Z", "deploy", "deploy bbbbbbbbbbbb", "ROLLBACK_SUCCESSFUL"],
      ["2026-06-27 12:00Z", "flag", "flag beta → kill", "COMPLETE"],
    ]);
    expect(rows.map((r) => attr(r, "class") === "bad")).toEqual([false, false, false, true, true]);
    // The strip draws one dot per event, in its lane.
    const dots = elements(byId(all, "timeline-strip") as unknown as Node).filter((el) => el.tagName === "circle");
    expect(dots.map((c) => attr(c, "class"))).toEqual(["event event-deploy", "event event-flag", "event event-flag", "event event-deploy bad", "event event-flag bad"]);
    const x = dots.map((c) => Number(attr(c, "cx")));
    expect([...x].sort((a, b) => a - b)).toEqual(x);
  });

  it("escapes text from AWS (reasons, warnings) instead of interpreting it", () => {
    const timelineText = text(byId(all, "timeline")!);
    expect(timelineText).toContain('circuit breaker: <3 failed tasks> & "unhealthy"');
    expect(all.some((el) => el.tagName === "3")).toBe(false);
    expect(text(all.find((el) => attr(el, "class") === "warning")!)).toBe("Flag history not read: <denied>");
    expect(all.filter((el) => el.tagName === "denied")).toEqual([]);
  });

  it("shows the restores and how long each took", () => {
    const rows = elements(byId(all, "restores")! as unknown as Node).filter((el) => el.tagName === "tr").slice(1);
    expect(rows.map((r) => elements(r as unknown as Node).filter((c) => c.tagName === "td").slice(1, 3).map(text))).toEqual([
      ["ecs rollback", "4m 00s"],
      ["flag kill", "30s"],
    ]);
  });

  it("is self-contained: no scripts, no external styles, images, fonts or frames", () => {
    const tags = new Set(all.map((el) => el.tagName));
    for (const tag of ["script", "link", "img", "iframe", "object", "embed", "video", "audio", "source"]) expect(tags.has(tag)).toBe(false);
    for (const el of all) {
      for (const a of el.attrs) {
        expect([a.name, a.value]).not.toEqual([a.name, expect.stringMatching(/^(https?:)?\/\//)]);
        expect(a.name).not.toMatch(/^on/);
      }
    }
    const css = all.filter((el) => el.tagName === "style").map(text).join("\n");
    expect(css.length).toBeGreaterThan(100);
    expect(css).not.toMatch(/url\(|@import/);
  });
});
