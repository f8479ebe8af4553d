import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListServiceDeploymentsCommand,
  RegisterTaskDefinitionCommand,
  StopServiceDeploymentCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { GetParametersCommand } from "@aws-sdk/client-ssm";
import { buildTaskDefinitionInput, deploy, validateDeployOptions } from "./deploy";
import { APPLY_STACK_HINT } from "../lib/apply-stack";
import {
  awsError,
  deployment,
  deployClients,
  DIGEST_A,
  fakeClock,
  ids,
  IMAGE_A,
  IMAGE_B,
  lines,
  mockDeployClients,
  REPO,
  serviceDeploymentArn,
  serviceRevisionArn,
  stackParametersResponse,
  taskDefinitionArn,
  templateTaskDefinition,
} from "./test-fixtures";

const { ecs: ecsMock, ssm: ssmMock } = mockDeployClients();
const DEP = serviceDeploymentArn("staging", "dep1");
const NEW_TD = taskDefinitionArn("staging", 8);

function setUpHappyPath() {
  ssmMock.on(GetParametersCommand).resolves(stackParametersResponse("staging"));
  ecsMock.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [] });
  ecsMock.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: templateTaskDefinition("staging"), tags: [{ key: "stack", value: "staging" }] });
  ecsMock.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: NEW_TD } });
  ecsMock.on(UpdateServiceCommand).resolves({ service: { serviceName: "friday-staging-app", currentServiceDeployment: DEP } });
}

function run(options: Partial<Parameters<typeof deploy>[1]> = {}) {
  const clock = fakeClock();
  const log = lines();
  const promise = deploy(
    { ...deployClients(), clock, log },
    { stack: "staging", image: IMAGE_B, timeoutMinutes: 30, pollSeconds: 10, ...options },
  );
  return { clock, log, promise };
}

const stage = (lifecycleStage: string, extra = {}) => deployment("staging", "dep1", { status: "IN_PROGRESS", lifecycleStage: lifecycleStage as never, ...extra });

describe("deploy", () => {
  test("success: registers the template with the new digest, updates the service, prints every lifecycle stage", async () => {
    setUpHappyPath();
    const stages = [
      "RECONCILE_SERVICE",
      "PRE_SCALE_UP",
      "SCALE_UP",
      "POST_SCALE_UP",
      "TEST_TRAFFIC_SHIFT",
      "POST_TEST_TRAFFIC_SHIFT",
      "PRODUCTION_TRAFFIC_SHIFT",
      "POST_PRODUCTION_TRAFFIC_SHIFT",
      "BAKE_TIME",
      "CLEAN_UP",
    ];
    let describe = ecsMock.on(DescribeServiceDeploymentsCommand);
    for (const s of stages) describe = describe.resolvesOnce({ serviceDeployments: [stage(s)] });
    describe.resolves({
      serviceDeployments: [
        deployment("staging", "dep1", {
          status: "SUCCESSFUL",
          lifecycleStage: "CLEAN_UP",
          finishedAt: new Date("2026-11-26T08:12:30Z"),
        }),
      ],
    });

    const { promise, log, clock } = run();
    const result = await promise;

    expect(result).toMatchObject({ ok: true, outcome: "SUCCEEDED", status: "SUCCESSFUL", taskDefinitionArn: NEW_TD, image: IMAGE_B, serviceDeploymentArn: DEP });
    expect(result.stages).toEqual(stages);
    expect(result.durationSeconds).toBe(750);
    expect(result.message).toBe("Deployment succeeded in 12m30s.");

    expect(ssmMock).toHaveReceivedCommandWith(GetParametersCommand, {
      Names: expect.arrayContaining(["/friday/staging/cluster-name", "/friday/staging/task-definition-template-arn", "/friday/staging/container-name"]),
    });
    expect(ecsMock).toHaveReceivedCommandWith(ListServiceDeploymentsCommand, {
      cluster: "friday-staging",
      service: "friday-staging-app",
      status: ["PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"],
    });
    expect(ecsMock).toHaveReceivedCommandWith(DescribeTaskDefinitionCommand, { taskDefinition: ids("staging").taskDefinitionTemplateArn, include: ["TAGS"] });

    const registered = ecsMock.commandCalls(RegisterTaskDefinitionCommand)[0].args[0].input;
    const template = templateTaskDefinition("staging");
    expect(registered).toEqual({
      family: "friday-staging-app",
      taskRoleArn: template.taskRoleArn,
      executionRoleArn: template.executionRoleArn,
      networkMode: "awsvpc",
      cpu: "512",
      memory: "1024",
      requiresCompatibilities: ["FARGATE"],
      runtimePlatform: { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" },
      volumes: [{ name: "tmp" }],
      ephemeralStorage: { sizeInGiB: 30 },
      tags: [{ key: "stack", value: "staging" }],
      containerDefinitions: [
        { ...template.containerDefinitions![0], image: IMAGE_B },
        template.containerDefinitions![1],
      ],
    });
    expect(ecsMock).toHaveReceivedCommandWith(UpdateServiceCommand, { cluster: "friday-staging", service: "friday-staging-app", taskDefinition: NEW_TD });
    expect(ecsMock).toHaveReceivedCommandWith(DescribeServiceDeploymentsCommand, { serviceDeploymentArns: [DEP] });
    expect(ecsMock).not.toHaveReceivedCommand(StopServiceDeploymentCommand);

    for (const s of stages) expect(log.all.some((l) => l.includes(`IN_PROGRESS · ${s}`))).toBe(true);
    expect(log.all.some((l) => l.includes("SUCCESSFUL · CLEAN_UP"))).toBe(true);
    expect(clock.sleeps.every((ms) => ms === 10_000)).toBe(true);
    expect(clock.sleeps).toHaveLength(stages.length);
  });

  test("rollback during bake: an alarm fires, ECS rolls back, the deploy fails and never reports success", async () => {
    setUpHappyPath();
    ecsMock
      .on(DescribeServiceDeploymentsCommand)
      .resolvesOnce({ serviceDeployments: [stage("PRODUCTION_TRAFFIC_SHIFT")] })
      .resolvesOnce({ serviceDeployments: [stage("BAKE_TIME")] })
      .resolvesOnce({
        serviceDeployments: [
          deployment("staging", "dep1", {
            status: "ROLLBACK_IN_PROGRESS",
            lifecycleStage: "PRODUCTION_TRAFFIC_SHIFT",
            alarms: { status: "TRIGGERED", alarmNames: ["friday-staging-5xx"], triggeredAlarmNames: ["friday-staging-5xx"] },
            rollback: { reason: "CloudWatch alarm friday-staging-5xx in ALARM", serviceRevisionArn: serviceRevisionArn("staging", "dep1-source") },
          }),
        ],
      })
      .resolves({
        serviceDeployments: [
          deployment("staging", "dep1", {
            status: "ROLLBACK_SUCCESSFUL",
            alarms: { status: "TRIGGERED", triggeredAlarmNames: ["friday-staging-5xx"] },
            rollback: { reason: "CloudWatch alarm friday-staging-5xx in ALARM" },
            finishedAt: new Date("2026-11-26T08:09:00Z"),
          }),
        ],
      });

    const { promise, log } = run();
    const result = await promise;

    expect(result.ok).toBe(false);
    expect(result.outcome).toBe("ROLLED_BACK");
    expect(result.status).toBe("ROLLBACK_SUCCESSFUL");
    expect(result.message).toMatch(/^Deployment FAILED: ECS rolled it back after 9m00s/);
    expect(result.reason).toContain("alarm(s) in ALARM: friday-staging-5xx");
    // ECS runs the traffic-shift stage again to move traffic back to blue.
    expect(result.stages).toEqual(["PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "PRODUCTION_TRAFFIC_SHIFT"]);
    expect(log.all.some((l) => l.includes("ECS is rolling the deployment back: CloudWatch alarm friday-staging-5xx in ALARM"))).toBe(true);
  });

  test("circuit breaker: tasks never get healthy, ECS rolls back, the deploy fails naming the breaker", async () => {
    setUpHappyPath();
    ecsMock
      .on(DescribeServiceDeploymentsCommand)
      .resolvesOnce({ serviceDeployments: [stage("SCALE_UP", { deploymentCircuitBreaker: { status: "MONITORING", failureCount: 1, threshold: 3 } })] })
      .resolves({
        serviceDeployments: [
          deployment("staging", "dep1", {
            status: "ROLLBACK_SUCCESSFUL",
            lifecycleStage: "SCALE_UP",
            statusReason: "Service deployment rolled back because the circuit breaker threshold was exceeded.",
            deploymentCircuitBreaker: { status: "TRIGGERED", failureCount: 3, threshold: 3 },
          }),
        ],
      });

    const result = await run().promise;

    expect(result).toMatchObject({ ok: false, outcome: "ROLLED_BACK" });
    expect(result.reason).toContain("deployment circuit breaker triggered (3 failed tasks, threshold 3)");
    expect(result.reason).toContain("circuit breaker threshold was exceeded");
  });

  test("a stopped deployment fails the deploy", async () => {
    setUpHappyPath();
    ecsMock.on(DescribeServiceDeploymentsCommand).resolves({
      serviceDeployments: [deployment("staging", "dep1", { status: "STOPPED", statusReason: "Stopped by user", stoppedAt: new Date("2026-11-26T08:03:00Z") })],
    });
    const result = await run().promise;
    expect(result).toMatchObject({ ok: false, outcome: "STOPPED", status: "STOPPED" });
    expect(result.message).toBe("Deployment FAILED: it was stopped after 3m00s (Stopped by user). See `friday status` for what is serving.");
  });

  test("a failed rollback fails the deploy and says the service may be degraded", async () => {
    setUpHappyPath();
    ecsMock.on(DescribeServiceDeploymentsCommand).resolves({
      serviceDeployments: [deployment("staging", "dep1", { status: "ROLLBACK_FAILED", statusReason: "blue tasks failed to start" })],
    });
    const result = await run().promise;
    expect(result).toMatchObject({ ok: false, outcome: "ROLLBACK_FAILED" });
    expect(result.message).toContain("could not roll it back (blue tasks failed to start)");
  });

  test("timeout: fails after --timeout-minutes, says what is still in flight, and leaves the deployment alone", async () => {
    setUpHappyPath();
    ecsMock.on(DescribeServiceDeploymentsCommand).resolves({ serviceDeployments: [stage("BAKE_TIME")] });

    const { promise, clock } = run({ timeoutMinutes: 2, pollSeconds: 15 });
    const result = await promise;

    expect(result).toMatchObject({ ok: false, outcome: "TIMED_OUT", status: "IN_PROGRESS", lifecycleStage: "BAKE_TIME" });
    expect(result.message).toContain(`Timed out after 2 minute(s): deployment ${DEP} is still IN_PROGRESS at BAKE_TIME and carries on in ECS`);
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(120_000);
    expect(ecsMock.commandCalls(DescribeServiceDeploymentsCommand)).toHaveLength(9);
    expect(ecsMock).not.toHaveReceivedCommand(StopServiceDeploymentCommand);
  });

  test("throttling while following: backs off and polls again", async () => {
    setUpHappyPath();
    ecsMock
      .on(DescribeServiceDeploymentsCommand)
      .resolvesOnce({ serviceDeployments: [stage("SCALE_UP")] })
      .rejectsOnce(awsError("ThrottlingException", "Rate exceeded"))
      .resolves({ serviceDeployments: [deployment("staging", "dep1", { status: "SUCCESSFUL", lifecycleStage: "CLEAN_UP" })] });

    const { promise, log, clock } = run();
    const result = await promise;

    expect(result.ok).toBe(true);
    expect(ecsMock.commandCalls(DescribeServiceDeploymentsCommand)).toHaveLength(3);
    expect(log.all.some((l) => l.includes("AWS throttled DescribeServiceDeployments; polling again in 20s"))).toBe(true);
    expect(clock.sleeps).toEqual([10_000, 20_000]);
  });

  test("a deployment not yet describable right after UpdateService is polled again, then followed", async () => {
    setUpHappyPath();
    ecsMock
      .on(DescribeServiceDeploymentsCommand)
      .resolvesOnce({ serviceDeployments: [], failures: [{ arn: DEP, reason: "MISSING" }] })
      .resolves({ serviceDeployments: [deployment("staging", "dep1", { status: "SUCCESSFUL" })] });
    const result = await run().promise;
    expect(result.ok).toBe(true);
  });

  test("a deployment ECS never knows fails with ECS's reason", async () => {
    setUpHappyPath();
    ecsMock.on(DescribeServiceDeploymentsCommand).resolves({ serviceDeployments: [], failures: [{ arn: DEP, reason: "MISSING" }] });
    await expect(run().promise).rejects.toThrow(`ECS does not know service deployment ${DEP}: MISSING.`);
    expect(ecsMock.commandCalls(DescribeServiceDeploymentsCommand)).toHaveLength(5);
  });

  test("--image current rolls the running digest through the new template (infra-only change)", async () => {
    setUpHappyPath();
    ecsMock.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceName: "friday-staging-app",
          status: "ACTIVE",
          currentServiceRevisions: [{ arn: serviceRevisionArn("staging", "r5"), runningTaskCount: 2, requestedTaskCount: 2 }],
        },
      ],
    });
    ecsMock.on(DescribeServiceRevisionsCommand).resolves({
      serviceRevisions: [
        {
          serviceRevisionArn: serviceRevisionArn("staging", "r5"),
          taskDefinition: taskDefinitionArn("staging", 6),
          containerImages: [
            { containerName: "otel", image: "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0", imageDigest: `sha256:${"c".repeat(64)}` },
            { containerName: "app", image: `${REPO}:abc123`, imageDigest: DIGEST_A },
          ],
        },
      ],
    });
    ecsMock.on(DescribeServiceDeploymentsCommand).resolves({ serviceDeployments: [deployment("staging", "dep1", { status: "SUCCESSFUL" })] });

    const result = await run({ image: "current" }).promise;

    expect(result.ok).toBe(true);
    expect(result.image).toBe(IMAGE_A);
    expect(ecsMock).toHaveReceivedCommandWith(DescribeServiceRevisionsCommand, { serviceRevisionArns: [serviceRevisionArn("staging", "r5")] });
    const registered = ecsMock.commandCalls(RegisterTaskDefinitionCommand)[0].args[0].input;
    expect(registered.containerDefinitions?.find((c) => c.name === "app")?.image).toBe(IMAGE_A);
  });

  test("--image current on a service with no current revision asks for a digest", async () => {
    setUpHappyPath();
    ecsMock.on(DescribeServicesCommand).resolves({ services: [{ serviceName: "friday-staging-app", status: "ACTIVE", currentServiceRevisions: [] }] });
    await expect(run({ image: "current" }).promise).rejects.toThrow(
      '--image current: cannot tell which image friday-staging-app runs (no current service revision with container "app"). Pass --image <repository>@sha256:<digest> instead.',
    );
    expect(ecsMock).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
  });

  test("a service that is gone: apply the stack through the pipeline", async () => {
    setUpHappyPath();
    ecsMock.on(DescribeServicesCommand).resolves({ services: [], failures: [{ reason: "MISSING" }] });
    await expect(run({ image: "current" }).promise).rejects.toThrow(
      `Service friday-staging-app is not in cluster friday-staging (stack "staging"): to recreate it, ${APPLY_STACK_HINT}.`,
    );
  });

  test("finds the new service deployment by listing when UpdateService does not name it", async () => {
    setUpHappyPath();
    ecsMock.on(UpdateServiceCommand).resolves({ service: { serviceName: "friday-staging-app" } });
    ecsMock
      .on(ListServiceDeploymentsCommand)
      .resolvesOnce({ serviceDeployments: [] })
      .resolvesOnce({ serviceDeployments: [] })
      .resolves({ serviceDeployments: [{ serviceDeploymentArn: DEP, status: "PENDING", createdAt: new Date() }] });
    ecsMock.on(DescribeServiceDeploymentsCommand).resolves({ serviceDeployments: [deployment("staging", "dep1", { status: "SUCCESSFUL" })] });

    const result = await run().promise;
    expect(result).toMatchObject({ ok: true, serviceDeploymentArn: DEP });
  });
});

describe("deploy errors: one clear message, nothing changed", () => {
  test("a tag instead of a digest is refused before any AWS call", async () => {
    await expect(run({ image: `${REPO}:latest` }).promise).rejects.toThrow(
      `--image must be an image pinned by digest, like 123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:<64 hex>, or "current" to roll the running image through an infra-only change (got "${REPO}:latest"). Tags can move; deploys use digests.`,
    );
    expect(ssmMock.calls()).toHaveLength(0);
    expect(ecsMock.calls()).toHaveLength(0);
  });

  test("an unknown stack name is refused before any AWS call", () => {
    expect(() => validateDeployOptions({ stack: "production", image: IMAGE_A })).toThrow('--stack must be one of staging, prod (got "production").');
  });

  test("a stack that was never brought up: check the region, or apply it through the pipeline", async () => {
    ssmMock.on(GetParametersCommand).resolves({ Parameters: [], InvalidParameters: ["/friday/staging/cluster-name"] });
    await expect(run().promise).rejects.toThrow(
      `No stack "staging" in this account and region: its SSM parameters under /friday/staging/ do not exist. If it should exist, check --region / AWS_PROFILE; otherwise ${APPLY_STACK_HINT}.`,
    );
    expect(ecsMock.calls()).toHaveLength(0);
  });

  test("SSM ParameterNotFound also means: no stack", async () => {
    ssmMock.on(GetParametersCommand).rejects(awsError("ParameterNotFound", "Parameter not found"));
    await expect(run().promise).rejects.toThrow('No stack "staging" in this account and region');
  });

  test("a half-published stack names the missing parameters", async () => {
    const response = stackParametersResponse("staging");
    response.Parameters = response.Parameters.filter((p) => p.Name !== "/friday/staging/container-name");
    ssmMock.on(GetParametersCommand).resolves(response);
    await expect(run().promise).rejects.toThrow(
      `Stack "staging" is missing SSM parameter(s) /friday/staging/container-name: its last infrastructure update did not finish or predates them. To fix it, ${APPLY_STACK_HINT}, then try again.`,
    );
  });

  test("a deployment already in flight is not trampled", async () => {
    setUpHappyPath();
    ecsMock.on(ListServiceDeploymentsCommand).resolves({
      serviceDeployments: [{ serviceDeploymentArn: serviceDeploymentArn("staging", "other"), status: "IN_PROGRESS", createdAt: new Date() }],
    });
    await expect(run().promise).rejects.toThrow(
      `A deployment is already in flight on staging (${serviceDeploymentArn("staging", "other")}, IN_PROGRESS).`,
    );
    expect(ecsMock).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
  });

  test("missing permission: names the action and the role", async () => {
    setUpHappyPath();
    ecsMock
      .on(UpdateServiceCommand)
      .rejects(
        awsError(
          "AccessDeniedException",
          `User: arn:aws:sts::${"123456789012"}:assumed-role/friday-staging-deploy/codebuild is not authorized to perform: ecs:UpdateService on resource: ${ids("staging").serviceArn}`,
        ),
      );
    await expect(run().promise).rejects.toThrow(
      `Permission denied: ecs:UpdateService is not allowed for role friday-staging-deploy (arn:aws:sts::123456789012:assumed-role/friday-staging-deploy/codebuild).`,
    );
    expect(ecsMock).not.toHaveReceivedCommand(DescribeServiceDeploymentsCommand);
  });

  test("the template is gone: apply the stack through the pipeline", async () => {
    setUpHappyPath();
    ecsMock.on(DescribeTaskDefinitionCommand).rejects(awsError("ClientException", "Unable to describe task definition."));
    await expect(run().promise).rejects.toThrow(
      `Task definition ${ids("staging").taskDefinitionTemplateArn} does not exist: the stack's template is gone; to publish it again, ${APPLY_STACK_HINT}.`,
    );
    expect(ecsMock).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
  });

  test("a template without the app container fails before registering", () => {
    expect(() => buildTaskDefinitionInput(templateTaskDefinition("staging"), [], "f", "web", IMAGE_A)).toThrow(
      `Task definition template ${ids("staging").taskDefinitionTemplateArn} has no container named "web" (it has: app, otel).`,
    );
  });

  test("timeouts out of range are refused", () => {
    expect(() => validateDeployOptions({ stack: "prod", image: IMAGE_A, timeoutMinutes: 0 })).toThrow("--timeout-minutes must be from 1 to 1440 (got 0).");
  });
});

describe("deploy after a staging refresh: RDS secrets follow /friday/<stack>/db-secret-arn", () => {
  const ACCOUNT_REGION = "us-east-1:123456789012";
  const OLD = `arn:aws:secretsmanager:${ACCOUNT_REGION}:secret:rds!db-1111-AbCdEf`;
  const LIVE = `arn:aws:secretsmanager:${ACCOUNT_REGION}:secret:rds!db-2222-GhIjKl`;
  const OTHER = `arn:aws:secretsmanager:${ACCOUNT_REGION}:secret:friday/staging/api-key-MnOpQr`;

  function templateWithSecrets() {
    const template = templateTaskDefinition("staging");
    template.containerDefinitions![0].secrets = [
      { name: "PGUSER", valueFrom: `${OLD}:username::` },
      { name: "PGPASSWORD", valueFrom: `${OLD}:password::` },
      { name: "API_KEY", valueFrom: OTHER },
      { name: "FLAG", valueFrom: "arn:aws:ssm:us-east-1:123456789012:parameter/friday/staging/flag" },
    ];
    return template;
  }

  function arrange(live: string | undefined) {
    setUpHappyPath();
    ssmMock.on(GetParametersCommand).callsFake((input: { Names: string[] }) => {
      if (input.Names.length === 1 && input.Names[0] === "/friday/staging/db-secret-arn") {
        return live ? { Parameters: [{ Name: input.Names[0], Value: live }], InvalidParameters: [] } : { Parameters: [], InvalidParameters: input.Names };
      }
      return stackParametersResponse("staging");
    });
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: templateWithSecrets(), tags: [] });
    ecsMock.on(DescribeServiceDeploymentsCommand).resolves({ serviceDeployments: [deployment("staging", "dep1", { status: "SUCCESSFUL", finishedAt: new Date("2026-11-26T08:05:00Z") })] });
  }

  const registeredSecrets = () => ecsMock.commandCalls(RegisterTaskDefinitionCommand)[0].args[0].input.containerDefinitions![0].secrets;

  test("an RDS secret other than the live one is rewritten (JSON keys kept); other secrets and parameters are not", async () => {
    arrange(LIVE);
    const { promise, log } = run();
    expect((await promise).ok).toBe(true);
    expect(registeredSecrets()).toEqual([
      { name: "PGUSER", valueFrom: `${LIVE}:username::` },
      { name: "PGPASSWORD", valueFrom: `${LIVE}:password::` },
      { name: "API_KEY", valueFrom: OTHER },
      { name: "FLAG", valueFrom: "arn:aws:ssm:us-east-1:123456789012:parameter/friday/staging/flag" },
    ]);
    expect(ssmMock).toHaveReceivedCommandWith(GetParametersCommand, { Names: ["/friday/staging/db-secret-arn"] });
    expect(log.all).toContain(`Secret follows the live database: app/PGUSER: ${OLD} → ${LIVE}`);
  });

  test("the template's secret is kept when it is the live one, or when the stack publishes none", async () => {
    for (const live of [OLD, undefined, OTHER]) {
      ecsMock.reset();
      ssmMock.reset();
      arrange(live);
      const { promise } = run();
      expect((await promise).ok).toBe(true);
      expect(registeredSecrets()).toEqual(templateWithSecrets().containerDefinitions![0].secrets);
    }
  });
});
