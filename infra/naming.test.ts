import { appLogGroupName, databaseIdentifier, parameterPrefix, refreshPath, refreshReplacementPattern, refreshResourcePrefix, refreshTaskFamily, stackName, stackResourcePrefix } from "./naming";

// Live stacks hold resources under these names: a change here renames (replaces) them, and IAM
// patterns and scripts follow. Spelled out so such a change is deliberate.
describe("naming", () => {
  it.each([
    ["stackName", stackName("prod"), "friday-prod"],
    ["stackResourcePrefix", stackResourcePrefix("prod"), "friday-prod-"],
    ["databaseIdentifier", databaseIdentifier("staging"), "friday-staging-db"],
    ["parameterPrefix", parameterPrefix("staging"), "/friday/staging"],
    ["appLogGroupName", appLogGroupName(stackName("prod")), "/friday/friday-prod/app"],
    ["refreshResourcePrefix", refreshResourcePrefix("staging"), "friday-staging-refresh-"],
    ["refreshReplacementPattern", refreshReplacementPattern("staging"), "friday-staging-refresh-*-new"],
    ["refreshTaskFamily", refreshTaskFamily("staging"), "friday-staging-staging-refresh"],
    ["refreshPath", refreshPath("staging"), "/friday/staging/staging-refresh"],
  ])("%s", (_name, got, want) => {
    expect(got).toBe(want);
  });

  it("keeps one stack's names outside the other's prefix", () => {
    expect(databaseIdentifier("prod").startsWith(stackResourcePrefix("staging"))).toBe(false);
    expect(refreshTaskFamily("staging").startsWith(stackResourcePrefix("staging"))).toBe(true);
  });
});
