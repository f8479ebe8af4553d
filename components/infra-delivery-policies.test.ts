import { runOffline, type OfflineRun } from "../scripts/lib/offline-program";
import {
  UNSCOPABLE_INFRA_ACTIONS,
  infraDeployPolicies,
  infraPreviewPolicies,
  INFRA_SERVICES,
  InfraScope,
  MANAGED_POLICY_MAX_CHARS,
  serviceCovering,
  stateBackendOf,
  stateObjectArns,
} from "./infra-delivery-policies";
import { permissionsBoundaryPolicy } from "./permissions-boundary";

/**
 * The infra roles' permissions against what the program really registers: both stacks run offline
 * with their real stack files, and every AWS resource type they create must be covered.
 */

let staging: OfflineRun;
let prod: OfflineRun;
beforeAll(async () => {
  staging = await runOffline("staging");
  prod = await runOffline("prod", { stagingOutputs: staging.outputs });
  // Both stacks offline take seconds alone and can pass a minute on a loaded 2-core machine.
}, 180_000);

const scope = (backendUrl = "s3://acme-friday-state/team-a"): InfraScope => ({
  account: "123456789012",
  partition: "aws",
  region: "us-east-1",
  project: "friday",
  backend: stateBackendOf({ backendUrl, secretsProvider: "awskms://alias/friday-pulumi?region=us-east-1", accessTokenSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:pulumi-AbCdEf" }),
});

test("every AWS resource type either stack registers has its actions in INFRA_SERVICES (a new type fails here first)", () => {
  const types = new Set([...staging.resources, ...prod.resources].map((r) => r.type).filter((t) => t.startsWith("aws:")));
  expect(types.size).toBeGreaterThan(40);
  expect([...types].filter((t) => !serviceCovering(t))).toEqual([]);
});

test("every service's actions are explicit (no wildcard) and in that service's namespace", () => {
  const namespaces: Record<string, string[]> = { applicationAutoscaling: ["application-autoscaling"], events: ["events"], codeconnections: ["codeconnections"] };
  for (const [key, service] of Object.entries(INFRA_SERVICES)) {
    for (const action of [...service.read, ...service.write]) {
      expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
      expect(namespaces[key] ?? [key]).toContain(action.split(":")[0]);
    }
  }
});

test.each(["staging", "prod"] as const)("%s: every managed policy fits IAM's 6,144 characters, without white space", (stack) => {
  // The boundary too: a role's boundary is one managed policy.
  for (const docs of [infraDeployPolicies(scope(), stack), infraPreviewPolicies(scope(), stack), [permissionsBoundaryPolicy(scope(), stack)]]) {
    for (const doc of docs) expect(JSON.stringify(doc).replace(/\s/g, "").length).toBeLessThanOrEqual(MANAGED_POLICY_MAX_CHARS);
  }
});

test("allows name resources in this account and region (or friday's own names); '*' only for the actions AWS cannot scope", () => {
  for (const stack of ["staging", "prod"] as const) {
    for (const statement of infraDeployPolicies(scope(), stack).flatMap((d) => d.Statement).filter((s) => s.Effect === "Allow")) {
      for (const resource of statement.Resource) {
        if (resource === "*") expect(UNSCOPABLE_INFRA_ACTIONS).toEqual(expect.arrayContaining(statement.Action));
        else expect(resource).toMatch(/^arn:aws:[a-z0-9-]+:(us-east-1)?:(123456789012)?:|^arn:aws:s3:::(acme-friday-state|friday-)/);
      }
    }
  }
});

test("staging's deploy role names no prod resource in an allow, and its state writes stay under staging's objects", () => {
  const allows = infraDeployPolicies(scope(), "staging").flatMap((d) => d.Statement).filter((s) => s.Effect === "Allow");
  expect(JSON.stringify(allows)).not.toMatch(/friday-prod|\/prod/);
  expect(stateObjectArns(scope(), "staging")).toEqual([
    "arn:aws:s3:::acme-friday-state/team-a/.pulumi/stacks/friday/staging.json*",
    "arn:aws:s3:::acme-friday-state/team-a/.pulumi/history/friday/staging/*",
    "arn:aws:s3:::acme-friday-state/team-a/.pulumi/backups/friday/staging/*",
    "arn:aws:s3:::acme-friday-state/team-a/.pulumi/locks/*/friday/staging/*",
  ]);
});

test("with Pulumi Cloud the roles read the access token from Secrets Manager and have no state bucket grants", () => {
  const cloud = scope("https://api.pulumi.com");
  const statements = infraDeployPolicies(cloud, "prod").flatMap((d) => d.Statement);
  expect(statements.find((s) => s.Sid === "PulumiAccessToken")).toEqual({
    Sid: "PulumiAccessToken",
    Effect: "Allow",
    Action: ["secretsmanager:GetSecretValue"],
    Resource: ["arn:aws:secretsmanager:us-east-1:123456789012:secret:pulumi-AbCdEf"],
  });
  expect(JSON.stringify(statements)).not.toContain("acme-friday-state");
});

test("a backend without its secrets provider is refused with the fix", () => {
  expect(() => stateBackendOf({ backendUrl: "s3://acme-friday-state" })).toThrow('secretsProvider must be "awskms://alias/<name>?region=<region>" with an S3 backend (got undefined)');
  expect(() => stateBackendOf({ backendUrl: "https://api.pulumi.com" })).toThrow("accessTokenSecretArn is required with Pulumi Cloud");
});

test("the real prod graph: every CodeBuild step of the pipeline and of the pull-request checks is its own aws:codebuild/project, with its own role", () => {
  const projects = prod.resources.filter((r) => r.type === "aws:codebuild/project:Project");
  const names = projects.map((p) => p.inputs.name).sort();
  expect(names).toEqual([
    "friday-build", "friday-gate", "friday-pr-preview-prod", "friday-pr-preview-staging", "friday-pr-tests", "friday-prod-deploy", "friday-prod-infra",
    "friday-prod-migrate", "friday-staging-deploy", "friday-staging-infra", "friday-staging-migrate", "friday-staging-smoke", "friday-test",
  ]);
  expect(new Set(projects.map((p) => p.inputs.serviceRole)).size).toBe(projects.length);
  const pipeline = prod.resources.find((r) => r.type === "aws:codepipeline/pipeline:Pipeline")!;
  const stepProjects = pipeline.inputs.stages.flatMap((s: { actions: { provider: string; configuration: { ProjectName?: string } }[] }) =>
    s.actions.filter((a) => a.provider === "CodeBuild").map((a) => a.configuration.ProjectName));
  for (const name of stepProjects) expect(names).toContain(name);
  expect(pipeline.inputs.stages.map((s: { name: string }) => s.name)).toEqual(["Source", "Test", "Build", "StagingInfra", "Staging", "Gate", "ProdInfra", "Prod"]);
  // Staging's graph holds no pipeline and no checks: only prod builds them.
  expect(staging.resources.filter((r) => r.type === "aws:codebuild/project:Project" || r.type === "aws:codebuild/webhook:Webhook")).toEqual([]);
});
