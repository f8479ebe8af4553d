import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  ListServiceDeploymentsCommand,
  ServiceDeployment,
  ServiceRevision,
} from "@aws-sdk/client-ecs";
import { GetParametersCommand } from "@aws-sdk/client-ssm";
import { describeDeployments, describeRevisions } from "./follow";
import { checkStagingGate } from "./gate";
import { formatStatus, getStatus } from "./status";
import {
  awsError,
  deployClients,
  deployment,
  DIGEST_A,
  DIGEST_B,
  fakeClock,
  IMAGE_A,
  IMAGE_B,
  mockDeployClients,
  REPO,
  serviceDeploymentArn,
  serviceRevision,
  serviceRevisionArn,
  stackParametersResponse,
  taskDefinitionArn,
} from "./test-fixtures";

const { ecs: ecsMock, ssm: ssmMock, cloudwatch: cwMock } = mockDeployClients();
const STACK = "staging";
const TD = (n: number) => taskDefinitionArn(STACK, n);
const REV = (id: string) => serviceRevisionArn(STACK, id);
const DEP = (id: string) => serviceDeploymentArn(STACK, id);

const revision = (id: string, td: number, digest: string) => serviceRevision(STACK, id, td, digest);

function world(options: {
  current: { id: string; running: number }[];
  deployments: ServiceDeployment[];
  revisions: ServiceRevision[];
  alarms?: { name: string; state: string; reason?: string }[];
}) {
  ssmMock.on(GetParametersCommand).resolves(stackParametersResponse(STACK));
  ecsMock.on(DescribeServicesCommand).resolves({
    services: [
      {
        serviceName: "friday-staging-app",
        status: "ACTIVE",
        desiredCount: 2,
        runningCount: 2,
        currentServiceRevisions: options.current.map((c) => ({ arn: REV(c.id), runningTaskCount: c.running, requestedTaskCount: 2 })),
      },
    ],
  });
  ecsMock.on(ListServiceDeploymentsCommand).resolves({
    serviceDeployments: options.deployments.map((d) => ({ serviceDeploymentArn: d.serviceDeploymentArn, status: d.status, createdAt: d.createdAt, startedAt: d.startedAt, finishedAt: d.finishedAt })),
  });
  ecsMock.on(DescribeServiceDeploymentsCommand).callsFake((input: { serviceDeploymentArns: string[] }) => ({
    serviceDeployments: options.deployments.filter((d) => input.serviceDeploymentArns.includes(d.serviceDeploymentArn as string)),
  }));
  ecsMock.on(DescribeServiceRevisionsCommand).callsFake((input: { serviceRevisionArns: string[] }) => ({
    serviceRevisions: options.revisions.filter((r) => input.serviceRevisionArns.includes(r.serviceRevisionArn as string)),
  }));
  const alarms = options.alarms ?? [
    { name: "friday-staging-5xx", state: "OK" },
    { name: "friday-staging-latency", state: "OK" },
  ];
  cwMock.on(DescribeAlarmsCommand).resolves({
    MetricAlarms: alarms.map((a) => ({ AlarmName: a.name, StateValue: a.state as never, StateReason: a.reason, StateUpdatedTimestamp: new Date("2026-11-26T07:55:00Z") })),
    CompositeAlarms: [],
  });
}

const at = (iso: string) => new Date(iso);
const succeeded = deployment(STACK, "d9", {
  status: "SUCCESSFUL",
  lifecycleStage: "CLEAN_UP",
  createdAt: at("2026-11-26T07:00:00Z"),
  startedAt: at("2026-11-26T07:00:00Z"),
  finishedAt: at("2026-11-26T07:12:30Z"),
  targetServiceRevision: { arn: REV("r9") },
});
const rolledBack = deployment(STACK, "d8", {
  status: "ROLLBACK_SUCCESSFUL",
  createdAt: at("2026-11-25T07:00:00Z"),
  startedAt: at("2026-11-25T07:00:00Z"),
  finishedAt: at("2026-11-25T07:09:00Z"),
  targetServiceRevision: { arn: REV("r8") },
  alarms: { status: "TRIGGERED", triggeredAlarmNames: ["friday-staging-5xx"] },
});
const inFlight = deployment(STACK, "d10", {
  status: "IN_PROGRESS",
  lifecycleStage: "BAKE_TIME",
  createdAt: at("2026-11-26T07:50:00Z"),
  startedAt: at("2026-11-26T07:50:00Z"),
  targetServiceRevision: { arn: REV("r10") },
});

const deps = () => ({ ...deployClients(), clock: fakeClock(Date.parse("2026-11-26T08:00:00Z")) });

describe("friday status", () => {
  test("running revision and digest, the deployment in flight with its stage, last deployments with outcome and duration, alarms", async () => {
    world({
      current: [
        { id: "r9", running: 2 },
        { id: "r10", running: 2 },
      ],
      deployments: [rolledBack, inFlight, succeeded],
      revisions: [revision("r9", 9, DIGEST_A), revision("r10", 10, DIGEST_B), revision("r8", 8, DIGEST_B)],
      alarms: [
        { name: "friday-staging-5xx", state: "OK" },
        { name: "friday-staging-latency", state: "ALARM", reason: "Threshold Crossed: p99 > 2000" },
      ],
    });

    const report = await getStatus(deps(), { stack: STACK, last: 5 });

    expect(report.running).toEqual([
      { serviceRevisionArn: REV("r9"), taskDefinitionArn: TD(9), image: IMAGE_A, imageDigest: DIGEST_A, runningTaskCount: 2, requestedTaskCount: 2 },
      { serviceRevisionArn: REV("r10"), taskDefinitionArn: TD(10), image: IMAGE_B, imageDigest: DIGEST_B, runningTaskCount: 2, requestedTaskCount: 2 },
    ]);
    expect(report.inFlight).toMatchObject({ serviceDeploymentArn: DEP("d10"), status: "IN_PROGRESS", lifecycleStage: "BAKE_TIME", durationSeconds: 600, targetTaskDefinition: TD(10) });
    expect(report.deployments.map((d) => [d.serviceDeploymentArn, d.status, d.durationSeconds])).toEqual([
      [DEP("d10"), "IN_PROGRESS", 600],
      [DEP("d9"), "SUCCESSFUL", 750],
      [DEP("d8"), "ROLLBACK_SUCCESSFUL", 540],
    ]);
    expect(report.deployments[2].reason).toBe("alarm(s) in ALARM: friday-staging-5xx");
    expect(report.alarms).toEqual([
      { name: "friday-staging-5xx", state: "OK", reason: undefined, updatedAt: "2026-11-26T07:55:00.000Z" },
      { name: "friday-staging-latency", state: "ALARM", reason: "Threshold Crossed: p99 > 2000", updatedAt: "2026-11-26T07:55:00.000Z" },
    ]);
    expect(cwMock).toHaveReceivedCommandWith(DescribeAlarmsCommand, {
      AlarmNames: ["friday-staging-5xx", "friday-staging-latency"],
      AlarmTypes: ["MetricAlarm", "CompositeAlarm"],
    });
    expect(ecsMock).toHaveReceivedCommandWith(ListServiceDeploymentsCommand, { cluster: "friday-staging", service: "friday-staging-app", maxResults: 100 });

    const text = formatStatus(report);
    expect(text).toContain(`Running: friday-staging-app:9  ${IMAGE_A}  (2/2 tasks)`);
    expect(text).toContain("In flight: IN_PROGRESS at BAKE_TIME for 10m00s → friday-staging-app:10");
    expect(text).toContain("ROLLBACK_SUCCESSFUL");
    expect(text).toContain("friday-staging-latency  ALARM  (Threshold Crossed: p99 > 2000)");
  });

  test("an alarm the stack names but CloudWatch does not have shows as MISSING", async () => {
    world({ current: [{ id: "r9", running: 2 }], deployments: [succeeded], revisions: [revision("r9", 9, DIGEST_A)], alarms: [{ name: "friday-staging-5xx", state: "OK" }] });
    const report = await getStatus(deps(), { stack: STACK });
    expect(report.alarms.find((a) => a.name === "friday-staging-latency")).toEqual({ name: "friday-staging-latency", state: "MISSING" });
  });

  test("missing permission to read alarms names cloudwatch:DescribeAlarms", async () => {
    world({ current: [{ id: "r9", running: 2 }], deployments: [succeeded], revisions: [revision("r9", 9, DIGEST_A)] });
    cwMock.on(DescribeAlarmsCommand).rejects(awsError("AccessDenied", "User: arn:aws:sts::123456789012:assumed-role/ops/bob is not authorized to perform: cloudwatch:DescribeAlarms"));
    await expect(getStatus(deps(), { stack: STACK })).rejects.toThrow("Permission denied: cloudwatch:DescribeAlarms is not allowed for role ops");
  });

  test("--last out of range is refused", async () => {
    await expect(getStatus(deps(), { stack: STACK, last: 0 })).rejects.toThrow("--last must be a whole number from 1 to 50 (got 0).");
  });
});

describe("checkStagingGate", () => {
  test("passes when the last deployment succeeded, nothing is in flight, staging runs the digest and alarms are OK", async () => {
    world({ current: [{ id: "r9", running: 2 }], deployments: [succeeded, rolledBack], revisions: [revision("r9", 9, DIGEST_A), revision("r8", 8, DIGEST_B)] });
    const result = await checkStagingGate(deps(), { image: IMAGE_A });
    expect(result.ok).toBe(true);
    expect(result.checks.map((c) => [c.name, c.ok])).toEqual([
      ["nothing in flight", true],
      ["last deployment succeeded", true],
      ["runs the promoted digest", true],
      ["rollback alarms OK", true],
    ]);
    expect(result.message).toBe("Gate passed: staging nothing in flight, last deployment succeeded, runs the promoted digest, rollback alarms OK.");
  });

  test("fails when staging's last deployment was rolled back", async () => {
    const newerRollback = { ...rolledBack, createdAt: at("2026-11-26T07:30:00Z"), startedAt: at("2026-11-26T07:30:00Z"), finishedAt: at("2026-11-26T07:39:00Z") };
    world({ current: [{ id: "r9", running: 2 }], deployments: [succeeded, newerRollback], revisions: [revision("r9", 9, DIGEST_A), revision("r8", 8, DIGEST_B)] });
    const result = await checkStagingGate(deps());
    expect(result.ok).toBe(false);
    expect(result.message).toBe(`Gate FAILED on staging: last deployment succeeded: ${DEP("d8")} ended ROLLBACK_SUCCESSFUL (alarm(s) in ALARM: friday-staging-5xx).`);
  });

  test("fails while a deployment is in flight, on a different digest, and on an alarm in ALARM", async () => {
    world({
      current: [{ id: "r9", running: 2 }],
      deployments: [inFlight, succeeded],
      revisions: [revision("r9", 9, DIGEST_A), revision("r10", 10, DIGEST_B)],
      alarms: [
        { name: "friday-staging-5xx", state: "ALARM" },
        { name: "friday-staging-latency", state: "INSUFFICIENT_DATA" },
      ],
    });
    const result = await checkStagingGate(deps(), { image: IMAGE_B });
    expect(result.ok).toBe(false);
    expect(Object.fromEntries(result.checks.map((c) => [c.name, c.detail]))).toEqual({
      "nothing in flight": `${DEP("d10")} is IN_PROGRESS at BAKE_TIME`,
      "last deployment succeeded": `${DEP("d9")} SUCCESSFUL at 2026-11-26T07:12:30.000Z`,
      "runs the promoted digest": `wanted ${DIGEST_B}, runs ${DIGEST_A}`,
      "rollback alarms OK": "friday-staging-5xx is ALARM, friday-staging-latency is INSUFFICIENT_DATA",
    });
  });

  test("INSUFFICIENT_DATA passes only when allowed", async () => {
    world({
      current: [{ id: "r9", running: 2 }],
      deployments: [succeeded],
      revisions: [revision("r9", 9, DIGEST_A)],
      alarms: [
        { name: "friday-staging-5xx", state: "OK" },
        { name: "friday-staging-latency", state: "INSUFFICIENT_DATA" },
      ],
    });
    expect((await checkStagingGate(deps())).ok).toBe(false);
    expect((await checkStagingGate(deps(), { allowInsufficientData: true })).ok).toBe(true);
  });

  test("a bad --image is refused before any AWS call", async () => {
    await expect(checkStagingGate(deps(), { image: `${REPO}:latest` })).rejects.toThrow(`--image must contain an image digest (sha256:<64 hex>) (got "${REPO}:latest").`);
    expect(ssmMock.calls()).toHaveLength(0);
  });
});

describe("deployment history paging", () => {
  test("reads every page before picking the newest (ECS documents no order)", async () => {
    world({ current: [{ id: "r9", running: 2 }], deployments: [succeeded, rolledBack], revisions: [revision("r9", 9, DIGEST_A), revision("r8", 8, DIGEST_B)] });
    ecsMock
      .on(ListServiceDeploymentsCommand)
      .resolvesOnce({ serviceDeployments: [{ serviceDeploymentArn: DEP("d8"), status: "ROLLBACK_SUCCESSFUL", createdAt: at("2026-11-25T07:00:00Z") }], nextToken: "page2" })
      .resolves({ serviceDeployments: [{ serviceDeploymentArn: DEP("d9"), status: "SUCCESSFUL", createdAt: at("2026-11-26T07:00:00Z") }] });
    const report = await getStatus(deps(), { stack: STACK, last: 1 });
    expect(report.deployments.map((d) => d.serviceDeploymentArn)).toEqual([DEP("d9")]);
    expect(ecsMock).toHaveReceivedCommandWith(ListServiceDeploymentsCommand, { nextToken: "page2" });
  });

  test("describes deployments and revisions 20 ARNs per call (ECS's limit)", async () => {
    const deps = Array.from({ length: 45 }, (_, i) => DEP(`d${i}`));
    const revs = Array.from({ length: 21 }, (_, i) => REV(`r${i}`));
    ecsMock.on(DescribeServiceDeploymentsCommand).callsFake((input: { serviceDeploymentArns: string[] }) => ({
      serviceDeployments: input.serviceDeploymentArns.map((serviceDeploymentArn) => ({ serviceDeploymentArn })),
    }));
    ecsMock.on(DescribeServiceRevisionsCommand).callsFake((input: { serviceRevisionArns: string[] }) => ({
      serviceRevisions: input.serviceRevisionArns.map((serviceRevisionArn) => ({ serviceRevisionArn })),
    }));
    const { ecs } = deployClients();
    expect((await describeDeployments(ecs, deps)).map((d) => d.serviceDeploymentArn)).toEqual(deps);
    expect((await describeRevisions(ecs, revs)).map((r) => r.serviceRevisionArn)).toEqual(revs);
    expect(ecsMock.commandCalls(DescribeServiceDeploymentsCommand).map((c) => c.args[0].input.serviceDeploymentArns?.length)).toEqual([20, 20, 5]);
    expect(ecsMock.commandCalls(DescribeServiceRevisionsCommand).map((c) => c.args[0].input.serviceRevisionArns?.length)).toEqual([20, 1]);
  });
});
