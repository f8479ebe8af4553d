import { HistoryProgress, mapWithLimit } from "./progress";

test("mapWithLimit keeps the items' order and never has more than `limit` calls in flight", async () => {
  let inFlight = 0;
  let most = 0;
  const results = await mapWithLimit([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < n; i++) await Promise.resolve();
    inFlight--;
    return n * 10;
  });
  expect(results).toEqual([50, 10, 40, 20, 30, 0, 60]);
  expect(most).toBe(3);
  expect(await mapWithLimit([], 4, async () => 1)).toEqual([]);
});

test("progress counts pages and items per source and sums them up", () => {
  let now = 1_000;
  const lines: string[] = [];
  const progress = new HistoryProgress({ now: () => now }, (l) => lines.push(l));
  expect(progress.summary()).toBe("metrics: read 0 item(s) in 0 page(s) in 0.0s (rate n/a)");
  now += 2_000;
  progress.page("ecs:ListServiceDeployments", 100);
  progress.page("ecs:ListServiceDeployments", 40);
  progress.page("appconfig:GetDeployment", 1);
  expect(lines).toEqual([
    "metrics: ecs:ListServiceDeployments: page 1, 100 item(s), 50.0 items/s",
    "metrics: ecs:ListServiceDeployments: page 2, 140 item(s), 70.0 items/s",
    "metrics: appconfig:GetDeployment: page 1, 1 item(s), 0.5 items/s",
  ]);
  expect(progress.summary()).toBe("metrics: read 141 item(s) in 3 page(s) in 2.0s (70.5 items/s): ecs:ListServiceDeployments 140 in 2 page(s), appconfig:GetDeployment 1 in 1 page(s)");
});

test("after ten pages of a source, progress prints every 50th", () => {
  const lines: string[] = [];
  const progress = new HistoryProgress({ now: () => 0 }, (l) => lines.push(l));
  for (let i = 0; i < 120; i++) progress.page("appconfig:GetDeployment", 1);
  expect(lines.map((l) => /page (\d+),/.exec(l)![1])).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "50", "100"]);
  expect(progress.totals()).toEqual([{ source: "appconfig:GetDeployment", pages: 120, items: 120 }]);
});
