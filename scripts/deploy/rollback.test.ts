import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListServiceDeploymentsCommand,
  ServiceDeployment,
  ServiceRevision,
  StopServiceDeploymentCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { GetParametersCommand } from "@aws-sdk/client-ssm";
import { DeployError } from "./aws";
import { IN_FLIGHT_STATUSES } from "./follow";
import { parseTo, rollback, RollbackOptions, RollbackPlan } from "./rollback";
import {
  awsError,
  deployClients,
  deployment,
  DIGEST_A,
  DIGEST_B,
  fakeClock,
  IMAGE_A,
  IMAGE_B,
  lines,
  mockDeployClients,
  serviceDeploymentArn,
  serviceRevision,
  serviceRevisionArn,
  stackParametersResponse,
  taskDefinitionArn,
} from "./test-fixtures";

const { ecs: ecsMock, ssm: ssmMock } = mockDeployClients();
const STACK = "prod";
const TD = (n: number) => taskDefinitionArn(STACK, n);
const REV = (id: string) => serviceRevisionArn(STACK, id);
const DEP = (id: string) => serviceDeploymentArn(STACK, id);

const revision = (id: string, td: number, digest: string) => serviceRevision(STACK, id, td, digest);

/** DescribeServiceRevisions answers from this table, whatever ARNs are asked for. */
function revisions(...all: ServiceRevision[]) {
  ecsMock.on(DescribeServiceRevisionsCommand).callsFake((input: { serviceRevisionArns: string[] }) => ({
    serviceRevisions: all.filter((r) => input.serviceRevisionArns.includes(r.serviceRevisionArn as string)),
  }));
}

/** DescribeServiceDeployments answers from this table; `sequence` overrides for the followed one. */
function deployments(table: ServiceDeployment[], followed?: { arn: string; sequence: ServiceDeployment[] }) {
  let step = 0;
  ecsMock.on(DescribeServiceDeploymentsCommand).callsFake((input: { serviceDeploymentArns: string[] }) => {
    if (followed && input.serviceDeploymentArns.length === 1 && input.serviceDeploymentArns[0] === followed.arn && step < followed.sequence.length) {
      return { serviceDeployments: [followed.sequence[step++]] };
    }
    if (followed && input.serviceDeploymentArns[0] === followed.arn && step >= followed.sequence.length) {
      return { serviceDeployments: [followed.sequence[followed.sequence.length - 1]] };
    }
    return { serviceDeployments: table.filter((d) => input.serviceDeploymentArns.includes(d.serviceDeploymentArn as string)) };
  });
}

function inFlight(list: { arn: string; status: string }[]) {
  ecsMock
    .on(ListServiceDeploymentsCommand, { status: IN_FLIGHT_STATUSES })
    .resolves({ serviceDeployments: list.map((d) => ({ serviceDeploymentArn: d.arn, status: d.status as never, createdAt: new Date("2026-11-26T08:00:00Z") })) });
}

function successes(list: { arn: string; at: string }[]) {
  ecsMock
    .on(ListServiceDeploymentsCommand, { status: ["SUCCESSFUL"] })
    .resolves({ serviceDeployments: list.map((d) => ({ serviceDeploymentArn: d.arn, status: "SUCCESSFUL", createdAt: new Date(d.at) })) });
}

function running(revisionId: string) {
  ecsMock.on(DescribeServicesCommand).resolves({
    services: [{ serviceName: "friday-prod-app", status: "ACTIVE", currentServiceRevisions: [{ arn: REV(revisionId), runningTaskCount: 2, requestedTaskCount: 2 }] }],
  });
}

function run(options: Partial<RollbackOptions> = {}, confirm: (plan: RollbackPlan) => Promise<void> = async () => undefined) {
  const clock = fakeClock();
  const log = lines();
  const confirmed: RollbackPlan[] = [];
  const promise = rollback(
    {
      ...deployClients(),
      clock,
      log,
      confirm: async (plan) => {
        confirmed.push(plan);
        await confirm(plan);
      },
    },
    { stack: STACK, timeoutMinutes: 30, pollSeconds: 10, ...options },
  );
  return { promise, log, clock, confirmed };
}

beforeEach(() => {
  ssmMock.on(GetParametersCommand).resolves(stackParametersResponse(STACK));
  ecsMock.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [] });
});

describe("rollback with a deployment in flight: stop with ROLLBACK", () => {
  const bad = deployment(STACK, "bad", {
    status: "IN_PROGRESS",
    lifecycleStage: "BAKE_TIME",
    targetServiceRevision: { arn: REV("r10"), requestedTaskCount: 2, runningTaskCount: 2 },
    sourceServiceRevisions: [{ arn: REV("r9"), requestedTaskCount: 2, runningTaskCount: 2 }],
  });

  beforeEach(() => {
    inFlight([{ arn: DEP("bad"), status: "IN_PROGRESS" }]);
    revisions(revision("r10", 10, DIGEST_B), revision("r9", 9, DIGEST_A));
  });

  test("plans, confirms, stops with ROLLBACK and follows it to ROLLBACK_SUCCESSFUL", async () => {
    deployments([bad], {
      arn: DEP("bad"),
      sequence: [
        bad,
        { ...bad, status: "ROLLBACK_REQUESTED" },
        { ...bad, status: "ROLLBACK_IN_PROGRESS", lifecycleStage: "PRODUCTION_TRAFFIC_SHIFT", rollback: { reason: "Rolled back by user request" } },
        { ...bad, status: "ROLLBACK_SUCCESSFUL", lifecycleStage: "CLEAN_UP", rollback: { reason: "Rolled back by user request" }, finishedAt: new Date("2026-11-26T08:04:00Z") },
      ],
    });

    const { promise, log, confirmed } = run();
    const result = await promise;

    expect(confirmed).toHaveLength(1);
    expect(confirmed[0]).toMatchObject({
      action: "stop",
      serviceDeploymentArn: DEP("bad"),
      deploymentStatus: "IN_PROGRESS",
      lifecycleStage: "BAKE_TIME",
      fromTaskDefinition: TD(10),
      fromImage: IMAGE_B,
      toTaskDefinition: TD(9),
      toImage: IMAGE_A,
    });
    expect(log.all[0]).toContain("→ StopServiceDeployment with ROLLBACK: ECS returns production traffic to " + TD(9));
    expect(ecsMock).toHaveReceivedCommandWith(StopServiceDeploymentCommand, { serviceDeploymentArn: DEP("bad"), stopType: "ROLLBACK" });
    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
    expect(result).toMatchObject({ ok: true, outcome: "SUCCEEDED", status: "ROLLBACK_SUCCESSFUL" });
    expect(result.message).toMatch(/^Rollback succeeded in 4m00s: the service is back on its previous revision/);
  });

  test("the deployment finished before the stop took effect: not reported as a rollback", async () => {
    deployments([bad], { arn: DEP("bad"), sequence: [bad, { ...bad, status: "SUCCESSFUL", lifecycleStage: "CLEAN_UP" }] });
    const result = await run().promise;
    expect(result).toMatchObject({ ok: false, outcome: "UNEXPECTED_SUCCESS" });
    expect(result.message).toContain("Run `friday rollback` again to redeploy the previous revision.");
  });

  test("ECS fails the rollback: not ok, says the service may be degraded", async () => {
    deployments([bad], { arn: DEP("bad"), sequence: [bad, { ...bad, status: "ROLLBACK_FAILED", statusReason: "blue tasks failed" }] });
    const result = await run().promise;
    expect(result).toMatchObject({ ok: false, outcome: "ROLLBACK_FAILED" });
  });

  test("timeout on the stop path says what is still in flight", async () => {
    deployments([bad], { arn: DEP("bad"), sequence: [{ ...bad, status: "ROLLBACK_IN_PROGRESS", lifecycleStage: "PRODUCTION_TRAFFIC_SHIFT" }] });
    const result = await run({ timeoutMinutes: 1 }).promise;
    expect(result).toMatchObject({ ok: false, outcome: "TIMED_OUT" });
    expect(result.message).toContain(`deployment ${DEP("bad")} is still ROLLBACK_IN_PROGRESS at PRODUCTION_TRAFFIC_SHIFT`);
  });

  test("--to does not apply while a deployment is in flight", async () => {
    await expect(run({ to: "9" }).promise).rejects.toThrow(/--to does not apply/);
    expect(ecsMock).not.toHaveReceivedCommand(StopServiceDeploymentCommand);
  });

  test("not confirmed on prod: nothing is changed", async () => {
    deployments([bad]);
    const { promise } = run({}, async () => {
      throw new DeployError("Not confirmed: nothing was changed.");
    });
    await expect(promise).rejects.toThrow("Not confirmed: nothing was changed.");
    expect(ecsMock).not.toHaveReceivedCommand(StopServiceDeploymentCommand);
    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
  });

  test("missing permission for StopServiceDeployment names the action and the role", async () => {
    deployments([bad]);
    ecsMock
      .on(StopServiceDeploymentCommand)
      .rejects(awsError("AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/dev-readonly/alice is not authorized to perform: ecs:StopServiceDeployment"));
    await expect(run().promise).rejects.toThrow("Permission denied: ecs:StopServiceDeployment is not allowed for role dev-readonly");
  });
});

describe("rollback with nothing in flight: redeploy the previous known-good revision", () => {
  beforeEach(() => {
    running("r9");
    successes([
      { arn: DEP("d9"), at: "2026-11-26T07:00:00Z" },
      { arn: DEP("d8"), at: "2026-11-25T07:00:00Z" },
    ]);
    revisions(revision("r9", 9, DIGEST_B), revision("r8", 8, DIGEST_A), revision("r7", 7, DIGEST_A));
  });

  const d9 = deployment(STACK, "d9", {
    status: "SUCCESSFUL",
    targetServiceRevision: { arn: REV("r9") },
    sourceServiceRevisions: [{ arn: REV("r8") }],
    finishedAt: new Date("2026-11-26T07:10:00Z"),
  });
  const d8 = deployment(STACK, "d8", { status: "SUCCESSFUL", targetServiceRevision: { arn: REV("r8") }, sourceServiceRevisions: [{ arn: REV("r7") }] });

  test("redeploys the source of the last successful deployment through UpdateService and follows it", async () => {
    ecsMock.on(UpdateServiceCommand).resolves({ service: { currentServiceDeployment: DEP("rb") } });
    deployments([d9, d8], {
      arn: DEP("rb"),
      sequence: [
        deployment(STACK, "rb", { lifecycleStage: "SCALE_UP" }),
        deployment(STACK, "rb", { status: "SUCCESSFUL", lifecycleStage: "CLEAN_UP", finishedAt: new Date("2026-11-26T08:07:00Z") }),
      ],
    });

    const { promise, confirmed, log } = run();
    const result = await promise;

    expect(confirmed[0]).toMatchObject({ action: "redeploy", fromTaskDefinition: TD(9), fromImage: IMAGE_B, toTaskDefinition: TD(8), toImage: IMAGE_A });
    expect(confirmed[0].chosenBecause).toContain(`it served until the successful deployment ${DEP("d9")}`);
    expect(log.all[0]).toContain(`→ redeploy ${TD(8)} (${IMAGE_A}) through blue/green`);
    expect(ecsMock).toHaveReceivedCommandWith(ListServiceDeploymentsCommand, { cluster: "friday-prod", service: "friday-prod-app", status: ["SUCCESSFUL"] });
    expect(ecsMock).toHaveReceivedCommandWith(UpdateServiceCommand, { cluster: "friday-prod", service: "friday-prod-app", taskDefinition: TD(8) });
    expect(ecsMock).not.toHaveReceivedCommand(StopServiceDeploymentCommand);
    expect(result).toMatchObject({ ok: true, status: "SUCCESSFUL" });
    expect(result.message).toBe(`Rolled back in 7m00s: prod runs ${TD(8)} again.`);
  });

  test("the redeploy itself rolled back by ECS: not ok", async () => {
    ecsMock.on(UpdateServiceCommand).resolves({ service: { currentServiceDeployment: DEP("rb") } });
    deployments([d9, d8], { arn: DEP("rb"), sequence: [deployment(STACK, "rb", { status: "ROLLBACK_SUCCESSFUL", rollback: { reason: "hook FAILED" } })] });
    const result = await run().promise;
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(new RegExp(`^Rollback redeploy of ${TD(8).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} did not succeed. Deployment FAILED: ECS rolled it back`));
  });

  test("--to <revision number> redeploys that revision of the stack's family", async () => {
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: { taskDefinitionArn: TD(5), family: "friday-prod-app", containerDefinitions: [{ name: "app", image: IMAGE_A }] },
    });
    ecsMock.on(UpdateServiceCommand).resolves({ service: { currentServiceDeployment: DEP("rb") } });
    deployments([], { arn: DEP("rb"), sequence: [deployment(STACK, "rb", { status: "SUCCESSFUL" })] });

    const { promise, confirmed } = run({ to: "5" });
    const result = await promise;

    expect(ecsMock).toHaveReceivedCommandWith(DescribeTaskDefinitionCommand, { taskDefinition: "friday-prod-app:5" });
    expect(confirmed[0]).toMatchObject({ action: "redeploy", toTaskDefinition: TD(5), chosenBecause: "--to 5" });
    expect(ecsMock).toHaveReceivedCommandWith(UpdateServiceCommand, { taskDefinition: TD(5) });
    expect(result.ok).toBe(true);
  });

  test("--to a revision that does not exist", async () => {
    ecsMock.on(DescribeTaskDefinitionCommand).rejects(awsError("ClientException", "Unable to describe task definition."));
    await expect(run({ to: "friday-prod-app:99" }).promise).rejects.toThrow(
      "Task definition friday-prod-app:99 does not exist: pick an existing revision (see `friday status`).",
    );
    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
  });

  test("--to the revision already running", async () => {
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: TD(9), containerDefinitions: [] } });
    await expect(run({ to: TD(9) }).promise).rejects.toThrow(`prod already runs ${TD(9)}: nothing to roll back to.`);
  });

  test("no previous revision in the history", async () => {
    successes([{ arn: DEP("d9"), at: "2026-11-26T07:00:00Z" }]);
    deployments([{ ...d9, sourceServiceRevisions: [] }]);
    await expect(run().promise).rejects.toThrow(
      "No previous revision to roll back to on prod: ECS's deployment history (90 days) has no earlier successful revision than " +
        TD(9) +
        ". Pass --to <task-definition-arn|friday-prod-app:revision|revision> to pick one; nothing was changed.",
    );
    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
  });

  test("a deployment that started while we waited for confirmation is not trampled", async () => {
    deployments([d9, d8]);
    let listed = 0;
    ecsMock.on(ListServiceDeploymentsCommand, { status: IN_FLIGHT_STATUSES }).callsFake(() => {
      listed++;
      return { serviceDeployments: listed === 1 ? [] : [{ serviceDeploymentArn: DEP("new"), status: "IN_PROGRESS", createdAt: new Date() }] };
    });
    await expect(run().promise).rejects.toThrow(`A deployment is already in flight on prod (${DEP("new")}, IN_PROGRESS).`);
    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
  });
});

describe("rollback errors", () => {
  test("a rollback already running", async () => {
    inFlight([{ arn: DEP("bad"), status: "ROLLBACK_IN_PROGRESS" }]);
    await expect(run().promise).rejects.toThrow(
      `A rollback is already running on prod (${DEP("bad")}, ROLLBACK_IN_PROGRESS). Follow it with \`friday status --stack prod\`; nothing was changed.`,
    );
    expect(ecsMock).not.toHaveReceivedCommand(StopServiceDeploymentCommand);
  });

  test("a stop already requested", async () => {
    inFlight([{ arn: DEP("bad"), status: "STOP_REQUESTED" }]);
    await expect(run().promise).rejects.toThrow(/is already being stopped \(STOP_REQUESTED\)/);
  });

  test("unknown stack", async () => {
    ssmMock.on(GetParametersCommand).resolves({ Parameters: [], InvalidParameters: ["x"] });
    await expect(run().promise).rejects.toThrow('No stack "prod" in this account and region');
  });

  test("throttling that outlasts the SDK's retries is reported as such", async () => {
    ecsMock.on(ListServiceDeploymentsCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
    await expect(run().promise).rejects.toThrow("AWS kept throttling ecs:ListServiceDeployments after 8 attempts with backoff.");
  });

  test("--to must name a revision of the stack's family", () => {
    expect(() => parseTo("other-app:3", "friday-prod-app")).toThrow(
      '--to other-app:3 is not a revision of this stack\'s task-definition family "friday-prod-app": pass one of its revisions, e.g. friday-prod-app:12.',
    );
    expect(() => parseTo("latest", "friday-prod-app")).toThrow('--to must be a task-definition ARN, "family:revision" or a revision number (got "latest").');
    expect(parseTo("12", "friday-prod-app")).toBe("friday-prod-app:12");
  });
});
