import { checkDocumentLayout, evaluateDocument } from "../packages/openfeature-appconfig-agent/src/testing/fake-agent";
import { featureFlagsSchemaErrors } from "../test/support/feature-flags-schema";
import { loadFlagsFile, parseFlagsFile } from "./flags";
import { describeState, FlagState, LiveFlag, parseAppConfigDocument, toAppConfigDocument } from "./flags-appconfig";

const file = parseFlagsFile({
  flags: {
    "new-checkout": {
      description: "New checkout",
      owner: "payments",
      default: false,
      expires: "2027-03-31",
      attributes: { maxItems: 20, regions: ["eu", "us"] },
      variants: [{ name: "staff", rule: '(ends_with $email "@example.com")', enabled: true, attributes: { maxItems: 99 } }],
    },
    recommendations: { description: "Recs", owner: "discovery", default: true, expires: "2027-11-30" },
  },
});

test("every flag starts at its declared default, in AWS.AppConfig.FeatureFlags format", () => {
  expect(toAppConfigDocument(file)).toEqual({
    version: "1",
    flags: {
      "new-checkout": {
        name: "new-checkout",
        description: "New checkout (owner: payments)",
        _deprecation: { status: "planned", date: "2027-03-31" },
        attributes: {
          maxItems: { constraints: { type: "number" } },
          regions: { constraints: { type: "array", elements: { type: "string" } } },
        },
      },
      recommendations: { name: "recommendations", description: "Recs (owner: discovery)", _deprecation: { status: "planned", date: "2027-11-30" } },
    },
    values: {
      "new-checkout": { enabled: false, maxItems: 20, regions: ["eu", "us"] },
      recommendations: { enabled: true },
    },
  });
});

test("targeted: team → the file's variants → split rollout on the user id → default off", () => {
  const state: FlagState = { mode: "targeted", users: ["alice", "bob"], groups: ["staff"], percent: 5 };
  const document = toAppConfigDocument(file, { "new-checkout": { state, updatedAt: "2026-11-20T10:00:00.000Z" } });
  expect(document.flags["new-checkout"]._updatedAt).toBe("2026-11-20T10:00:00.000Z");
  // Attribute values go in each variant's attributeValues: AWS's schema allows no other key there.
  expect(document.values["new-checkout"]).toEqual({
    _variants: [
      { name: "team", enabled: true, rule: '(or (in $userId ["alice", "bob"]) (in $group ["staff"]))', attributeValues: { maxItems: 20, regions: ["eu", "us"] } },
      { name: "staff", enabled: true, rule: '(ends_with $email "@example.com")', attributeValues: { maxItems: 99, regions: ["eu", "us"] } },
      { name: "rollout", enabled: true, rule: '(split by::$userId pct::5 seed::"new-checkout")', attributeValues: { maxItems: 20, regions: ["eu", "us"] } },
      { name: "default", enabled: false, attributeValues: { maxItems: 20, regions: ["eu", "us"] } },
    ],
  });
  expect(featureFlagsSchemaErrors(document)).toEqual([]);
  // What the agent answers for each kind of user.
  const answer = (context: Record<string, string>) => evaluateDocument(document as never, context)["new-checkout"];
  expect(answer({ userId: "alice" })).toMatchObject({ _variant: "team", enabled: true });
  expect(answer({ userId: "zed", group: "staff" })).toMatchObject({ _variant: "team", enabled: true });
  expect(answer({ userId: "alice" })).toEqual({ _variant: "team", enabled: true, maxItems: 20, regions: ["eu", "us"] });
  expect(answer({ userId: "zed", email: "z@example.com" })).toMatchObject({ _variant: "staff", enabled: true, maxItems: 99 });
  expect(answer({})).toMatchObject({ _variant: "default", enabled: false });
  const users = Array.from({ length: 2000 }, (_, i) => ({ userId: `u${i}` }));
  const on = users.filter((u) => answer(u).enabled).length;
  expect(on).toBeGreaterThan(50);
  expect(on).toBeLessThan(160);
});

test("a team without a percentage has no rollout variant; a lone group needs no `or`", () => {
  const document = toAppConfigDocument(file, { "new-checkout": { state: { mode: "targeted", users: [], groups: ["beta"], percent: 0 } } });
  const variants = (document.values["new-checkout"] as { _variants: Array<{ name: string; rule?: string }> })._variants;
  expect(variants.map((v) => v.name)).toEqual(["team", "staff", "default"]);
  expect(variants[0].rule).toBe('(in $group ["beta"])');
});

test("flags the file does not declare are kept as deployed, or dropped with prune; user ids are quoted safely", () => {
  const deployed = JSON.stringify({
    version: "1",
    flags: { gone: { name: "gone", description: "from a newer checkout" } },
    values: { gone: { _variants: [{ name: "team", enabled: true, rule: '(in $userId ["x"])' }, { name: "default", enabled: false }] } },
  });
  const live = { ...parseAppConfigDocument(deployed), "new-checkout": { state: { mode: "targeted", users: ['we"ird'], groups: [], percent: 0 } as FlagState } };
  const kept = toAppConfigDocument(file, live);
  expect(Object.keys(kept.values)).toEqual(["new-checkout", "recommendations", "gone"]);
  expect(kept.values.gone).toEqual(JSON.parse(deployed).values.gone);
  expect(kept.flags.gone).toEqual({ name: "gone", description: "from a newer checkout" });
  const document = toAppConfigDocument(file, live, { prune: true });
  expect(Object.keys(document.values)).toEqual(["new-checkout", "recommendations"]);
  expect(parseAppConfigDocument(document)["new-checkout"].state).toEqual({ mode: "targeted", users: ['we"ird'], groups: [], percent: 0 });
});

test("states read back from a deployed document are the ones written", () => {
  const states: Record<string, FlagState> = {
    "new-checkout": { mode: "targeted", users: ["alice"], groups: ["staff", "qa"], percent: 37.5 },
    recommendations: { mode: "off" },
  };
  const json = JSON.stringify(toAppConfigDocument(file, { "new-checkout": { state: states["new-checkout"], updatedAt: "2026-11-01T00:00:00Z" }, recommendations: { state: states.recommendations } }));
  const parsed = parseAppConfigDocument(json);
  expect(Object.keys(parsed)).toEqual(["new-checkout", "recommendations"]);
  expect(parsed["new-checkout"]).toMatchObject({ state: states["new-checkout"], updatedAt: "2026-11-01T00:00:00Z" });
  expect(parsed.recommendations.state).toEqual({ mode: "off" });
  expect(parsed.recommendations.updatedAt).toBeUndefined();
  expect(() => parseAppConfigDocument("{oops")).toThrow(/The deployed flags configuration is not JSON/);
  expect(() => parseAppConfigDocument('{"a":1}')).toThrow(/has no "values"/);
});

test("describes states for people", () => {
  expect(describeState({ mode: "off" })).toBe("off");
  expect(describeState({ mode: "on" })).toBe("on (everyone)");
  expect(describeState({ mode: "targeted", users: ["a", "b"], groups: ["g"], percent: 5 })).toBe("team (2 users, 1 group) + 5% of users");
  expect(describeState({ mode: "targeted", users: [], groups: [], percent: 20 })).toBe("20% of users");
});

/** Every state `friday flags team|rollout|on|off|kill` can leave a flag in. */
const STATES: Record<string, FlagState> = {
  off: { mode: "off" },
  on: { mode: "on" },
  team: { mode: "targeted", users: ["alice", "bob"], groups: ["staff"], percent: 0 },
  "team of groups": { mode: "targeted", users: [], groups: ["beta"], percent: 0 },
  rollout: { mode: "targeted", users: [], groups: [], percent: 0.29 },
  "team + rollout": { mode: "targeted", users: ["alice"], groups: [], percent: 37.5 },
  "killed while on": { mode: "killed", previous: { mode: "on" } },
  "killed during a rollout": { mode: "killed", previous: { mode: "targeted", users: ["alice"], groups: ["staff"], percent: 5 } },
  "killed during a team": { mode: "killed", previous: { mode: "targeted", users: [], groups: ["staff"], percent: 0 } },
};

describe("every generated document is valid against AWS's AWS.AppConfig.FeatureFlags schema", () => {
  const files = { "the repository's flags.yaml": loadFlagsFile(), "a file with attributes of every type and its own variants": file };
  for (const [fileName, flagsFile] of Object.entries(files)) {
    for (const [stateName, state] of Object.entries(STATES)) {
      test(`${fileName}, every flag ${stateName}`, () => {
        const live: Record<string, LiveFlag> = Object.fromEntries(Object.keys(flagsFile.flags).map((f) => [f, { state, updatedAt: "2026-12-01T00:00:00.000Z" }]));
        const document = toAppConfigDocument(flagsFile, live);
        expect(featureFlagsSchemaErrors(document)).toEqual([]);
        expect(() => checkDocumentLayout(document as never)).not.toThrow();
        // And it reads back as the state written.
        for (const flag of Object.keys(flagsFile.flags)) expect(parseAppConfigDocument(JSON.stringify(document))[flag].state).toEqual(state);
      });
    }
  }

  test("the validator refuses what AWS refuses: attributes on a variant, unknown keys, a rule over 16384 characters", () => {
    const valid = toAppConfigDocument(file, { "new-checkout": { state: STATES["team + rollout"] } });
    const withAttributesOnVariant = JSON.parse(JSON.stringify(valid));
    withAttributesOnVariant.values["new-checkout"]._variants[0].maxItems = 20;
    expect(featureFlagsSchemaErrors(withAttributesOnVariant)).toContain("/values/new-checkout/_variants/0: must NOT have additional properties (maxItems)");
    expect(() => checkDocumentLayout(withAttributesOnVariant)).toThrow("values.new-checkout._variants[0].maxItems: a variant takes only name, enabled, rule and attributeValues");
    const longRule = JSON.parse(JSON.stringify(valid));
    longRule.values["new-checkout"]._variants[0].rule = `(in $userId [${'"x", '.repeat(3300)}"y"])`;
    expect(featureFlagsSchemaErrors(longRule)).toContain("/values/new-checkout/_variants/0/rule: must NOT have more than 16384 characters");
    expect(featureFlagsSchemaErrors({ ...valid, extra: 1 })).toContain("/: must NOT have additional properties (extra)");
  });
});

test("a kill keeps the flag's rules with every variant disabled: off for everyone, the earlier state readable", () => {
  const document = toAppConfigDocument(file, { "new-checkout": { state: STATES["killed during a rollout"] }, recommendations: { state: STATES["killed while on"] } });
  expect((document.values["new-checkout"] as { _variants: Array<{ name: string; enabled: boolean }> })._variants.map((v) => [v.name, v.enabled])).toEqual([
    ["team", false],
    ["staff", false],
    ["rollout", false],
    ["default", false],
  ]);
  expect(document.values.recommendations).toEqual({
    _variants: [
      { name: "rollout", enabled: false, rule: '(split by::$userId pct::100 seed::"recommendations")' },
      { name: "default", enabled: false },
    ],
  });
  const contexts: Array<Record<string, string>> = [{ userId: "alice" }, { userId: "zed", group: "staff" }, { userId: "z", email: "z@example.com" }, ...Array.from({ length: 200 }, (_, i) => ({ userId: `u${i}` }))];
  for (const context of contexts) {
    expect(evaluateDocument(document as never, context)["new-checkout"].enabled).toBe(false);
    expect(evaluateDocument(document as never, context).recommendations.enabled).toBe(false);
  }
  expect(describeState(STATES["killed during a rollout"])).toBe("killed (off; was team (1 user, 1 group) + 5% of users)");
  expect(describeState(STATES["killed while on"])).toBe("killed (off; was on (everyone))");
});
