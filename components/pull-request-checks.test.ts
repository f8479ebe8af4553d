import { globToRegex, validatePullRequestChecksArgs, type PullRequestChecksArgs } from "./pull-request-checks";

const args = (overrides: Partial<PullRequestChecksArgs> = {}): PullRequestChecksArgs => ({
  repository: "acme/app",
  providerType: "GitHub",
  connectionArn: "arn:aws:codeconnections:us-east-1:123456789012:connection/abc",
  checks: [
    { projectName: "friday-pr-tests", statusContext: "friday/tests", description: "tests", buildspec: "test", policy: { Version: "2012-10-17", Statement: [] }, variables: [], artifactsKeyArn: "k" },
  ],
  ...overrides,
});

describe("globToRegex", () => {
  test.each([
    ["infra/**", "infra/program.ts", true],
    ["infra/**", "app/infra/x.ts", false],
    ["Pulumi.*.yaml", "Pulumi.prod.yaml", true],
    ["Pulumi.*.yaml", "Pulumi.prod.yaml.bak", false],
    ["Pulumi.*.yaml", "dir/Pulumi.prod.yaml", false],
    ["components/**/*.ts", "components/a/b.ts", true],
    ["package.json", "packageXjson", false],
  ])("%s matches %s: %s", (glob, path, matches) => {
    expect(new RegExp(globToRegex(glob)).test(path)).toBe(matches);
  });
});

describe("validatePullRequestChecksArgs", () => {
  test("refuses a git host CodeBuild cannot build from through a connection, naming the way out", () => {
    expect(() => validatePullRequestChecksArgs("pr", args({ providerType: "GitLabSelfManaged" }))).toThrow(
      'PullRequestChecks "pr": providerType "GitLabSelfManaged" has no CodeBuild webhook through a connection here; use one of GitHub, GitLab, Bitbucket, or set friday:pipeline.pullRequests.enabled to false.',
    );
  });

  test("refuses no checks, two checks with one status name, and an empty file filter", () => {
    expect(() => validatePullRequestChecksArgs("pr", args({ checks: [] }))).toThrow('PullRequestChecks "pr": checks is empty');
    const check = args().checks[0];
    expect(() => validatePullRequestChecksArgs("pr", args({ checks: [check, { ...check, projectName: "other" }] }))).toThrow('two checks report as "friday/tests"');
    expect(() => validatePullRequestChecksArgs("pr", args({ checks: [{ ...check, filePaths: [] }] }))).toThrow("friday-pr-tests.filePaths is empty");
  });

  test("accepts the pipeline's own checks", () => {
    expect(() => validatePullRequestChecksArgs("pr", args())).not.toThrow();
  });
});
