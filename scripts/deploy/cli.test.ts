import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
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
import { CommanderError } from "commander";
import { buildCli } from "../cli";
import { Prompt, setCliContextForTests } from "./cli-support";
import { IN_FLIGHT_STATUSES } from "./follow";
import {
  deployment,
  DIGEST_A,
  fakeClock,
  IMAGE_A,
  IMAGE_B,
  mockDeployClients,
  REPO,
  serviceDeploymentArn,
  serviceRevisionArn,
  stackParametersResponse,
  taskDefinitionArn,
  templateTaskDefinition,
} from "./test-fixtures";

/**
 * The real CLI entry, buildCli(), parsing real flags. aws-sdk-client-mock replaces the SDK clients'
 * send() for every instance, so the clients the commands construct themselves are mocked too.
 */

const { ecs: ecsMock, ssm: ssmMock, cloudwatch: cwMock } = mockDeployClients();

let stdout: string[];
let stderr: string[];
let prompts: string[];

function useContext(prompt: Prompt = async () => undefined) {
  stdout = [];
  stderr = [];
  prompts = [];
  setCliContextForTests({
    clock: fakeClock(),
    prompt: async (q) => {
      prompts.push(q);
      return prompt(q);
    },
    stdout: (t) => stdout.push(t),
    stderr: (t) => stderr.push(t),
  });
}

function friday(...args: string[]) {
  const program = buildCli();
  for (const command of [program, ...program.commands]) command.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  return program.parseAsync(["node", "friday", ...args]);
}

function stack(name: string) {
  ssmMock.on(GetParametersCommand).resolves(stackParametersResponse(name));
}

beforeEach(() => {
  ecsMock.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [] });
  useContext();
});

afterAll(() => setCliContextForTests({}));

describe("friday deploy", () => {
  beforeEach(() => {
    stack("staging");
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: templateTaskDefinition("staging"), tags: [] });
    ecsMock.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: taskDefinitionArn("staging", 8) } });
    ecsMock.on(UpdateServiceCommand).resolves({ service: { currentServiceDeployment: serviceDeploymentArn("staging", "d") } });
  });

  test("--json: the result on stdout, progress on stderr, success exits normally", async () => {
    ecsMock
      .on(DescribeServiceDeploymentsCommand)
      .resolvesOnce({ serviceDeployments: [deployment("staging", "d", { lifecycleStage: "SCALE_UP" })] })
      .resolves({ serviceDeployments: [deployment("staging", "d", { status: "SUCCESSFUL", lifecycleStage: "CLEAN_UP" })] });

    await friday("deploy", "--stack", "staging", "--image", IMAGE_B, "--json", "--timeout-minutes", "5", "--poll-seconds", "1");

    expect(stdout).toHaveLength(1);
    const result = JSON.parse(stdout[0]);
    expect(result).toMatchObject({ ok: true, outcome: "SUCCEEDED", stack: "staging", image: IMAGE_B, stages: ["SCALE_UP", "CLEAN_UP"] });
    expect(stderr.some((l) => l.includes("IN_PROGRESS · SCALE_UP"))).toBe(true);
    expect(ecsMock.commandCalls(RegisterTaskDefinitionCommand)[0].args[0].input.containerDefinitions?.[0].image).toBe(IMAGE_B);
    expect(prompts).toHaveLength(0);
  });

  test("a deployment ECS rolled back makes the command fail (non-zero exit), with the JSON still printed", async () => {
    ecsMock.on(DescribeServiceDeploymentsCommand).resolves({
      serviceDeployments: [deployment("staging", "d", { status: "ROLLBACK_SUCCESSFUL", rollback: { reason: "lifecycle hook returned FAILED" } })],
    });
    await expect(friday("deploy", "--stack", "staging", "--image", IMAGE_B, "--json")).rejects.toThrow(
      "Deployment FAILED: ECS rolled it back after 0s (lifecycle hook returned FAILED).",
    );
    expect(JSON.parse(stdout[0])).toMatchObject({ ok: false, outcome: "ROLLED_BACK" });
  });

  test("prod in a terminal asks first; 'no' changes nothing", async () => {
    stack("prod");
    useContext(async () => false);
    await expect(friday("deploy", "--stack", "prod", "--image", IMAGE_A)).rejects.toThrow("Not confirmed: nothing was changed.");
    expect(prompts[0]).toContain(`Deploy ${IMAGE_A} to prod through blue/green.`);
    expect(ecsMock).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
  });

  test("prod from the pipeline (no terminal) deploys: the approval gate is its confirmation", async () => {
    stack("prod");
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: templateTaskDefinition("prod"), tags: [] });
    ecsMock.on(DescribeServiceDeploymentsCommand).resolves({ serviceDeployments: [deployment("prod", "d", { status: "SUCCESSFUL" })] });
    await friday("deploy", "--stack", "prod", "--image", IMAGE_A, "--json");
    expect(JSON.parse(stdout[0]).ok).toBe(true);
  });

  test("bad flags fail before any AWS call", async () => {
    await expect(friday("deploy", "--stack", "staging", "--image", IMAGE_A, "--timeout-minutes", "soon")).rejects.toThrow(
      '--timeout-minutes must be a number from 1 to 1440 (got "soon").',
    );
    await expect(friday("deploy", "--stack", "staging", "--image", `${REPO}:v1`)).rejects.toThrow(/--image must be an image pinned by digest/);
    await expect(friday("deploy", "--stack", "qa", "--image", IMAGE_A)).rejects.toThrow('--stack must be one of staging, prod (got "qa").');
    await expect(friday("deploy", "--stack", "staging")).rejects.toBeInstanceOf(CommanderError);
    expect(ssmMock.calls()).toHaveLength(0);
    expect(ecsMock.calls()).toHaveLength(0);
  });
});

describe("friday rollback", () => {
  const bad = deployment("prod", "bad", { status: "IN_PROGRESS", lifecycleStage: "BAKE_TIME", sourceServiceRevisions: [], targetServiceRevision: undefined });

  beforeEach(() => {
    stack("prod");
    ecsMock
      .on(ListServiceDeploymentsCommand, { status: IN_FLIGHT_STATUSES })
      .resolves({ serviceDeployments: [{ serviceDeploymentArn: bad.serviceDeploymentArn, status: "IN_PROGRESS", createdAt: new Date() }] });
  });

  test("on prod without a terminal and without --yes it refuses and changes nothing", async () => {
    ecsMock.on(DescribeServiceDeploymentsCommand).resolves({ serviceDeployments: [bad] });
    await expect(friday("rollback", "--stack", "prod")).rejects.toThrow(
      "This changes prod and needs confirmation: run it in a terminal, or pass --yes. Nothing was changed.",
    );
    expect(stdout.join("\n")).toContain("Rollback plan for prod");
    expect(ecsMock).not.toHaveReceivedCommand(StopServiceDeploymentCommand);
  });

  test("--yes --json stops the deployment with ROLLBACK and reports the result", async () => {
    ecsMock
      .on(DescribeServiceDeploymentsCommand)
      .resolvesOnce({ serviceDeployments: [bad] })
      .resolves({ serviceDeployments: [{ ...bad, status: "ROLLBACK_SUCCESSFUL" }] });
    await friday("rollback", "--stack", "prod", "--yes", "--json");
    expect(ecsMock).toHaveReceivedCommandWith(StopServiceDeploymentCommand, { serviceDeploymentArn: bad.serviceDeploymentArn, stopType: "ROLLBACK" });
    expect(JSON.parse(stdout[0])).toMatchObject({ ok: true, status: "ROLLBACK_SUCCESSFUL", plan: { action: "stop" } });
    expect(prompts).toHaveLength(0);
  });

  test("in a terminal on prod, 'yes' proceeds", async () => {
    useContext(async () => true);
    ecsMock.on(DescribeServiceDeploymentsCommand).resolves({ serviceDeployments: [{ ...bad, status: "ROLLBACK_SUCCESSFUL" }] });
    await friday("rollback", "--stack", "prod");
    expect(prompts).toHaveLength(1);
    expect(ecsMock).toHaveReceivedCommand(StopServiceDeploymentCommand);
  });
});

describe("friday status and friday gate", () => {
  beforeEach(() => {
    stack("staging");
    ecsMock.on(DescribeServicesCommand).resolves({
      services: [{ serviceName: "friday-staging-app", status: "ACTIVE", desiredCount: 1, runningCount: 1, currentServiceRevisions: [{ arn: serviceRevisionArn("staging", "r9"), runningTaskCount: 1, requestedTaskCount: 1 }] }],
    });
    ecsMock.on(ListServiceDeploymentsCommand).resolves({
      serviceDeployments: [{ serviceDeploymentArn: serviceDeploymentArn("staging", "d9"), status: "SUCCESSFUL", createdAt: new Date("2026-11-26T07:00:00Z") }],
    });
    ecsMock.on(DescribeServiceDeploymentsCommand).resolves({
      serviceDeployments: [deployment("staging", "d9", {
          status: "SUCCESSFUL",
          targetServiceRevision: { arn: serviceRevisionArn("staging", "r9") },
          startedAt: new Date("2026-11-26T07:00:00Z"),
          finishedAt: new Date("2026-11-26T07:05:00Z"),
        })],
    });
    ecsMock.on(DescribeServiceRevisionsCommand).resolves({
      serviceRevisions: [{ serviceRevisionArn: serviceRevisionArn("staging", "r9"), taskDefinition: taskDefinitionArn("staging", 9), containerImages: [{ containerName: "app", image: `${REPO}:x`, imageDigest: DIGEST_A }] }],
    });
    cwMock.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: "friday-staging-5xx", StateValue: "OK" },
        { AlarmName: "friday-staging-latency", StateValue: "OK" },
      ],
    });
  });

  test("status --json --last 3", async () => {
    await friday("status", "--stack", "staging", "--json", "--last", "3");
    const report = JSON.parse(stdout[0]);
    expect(report.running[0]).toMatchObject({ taskDefinitionArn: taskDefinitionArn("staging", 9), image: IMAGE_A });
    expect(report.deployments).toHaveLength(1);
    expect(report.deployments[0]).toMatchObject({ status: "SUCCESSFUL", durationSeconds: 300 });
  });

  test("status prints a human summary", async () => {
    await friday("status", "--stack", "staging");
    expect(stdout[0]).toContain("In flight: none");
    expect(stdout[0]).toContain("friday-staging-5xx      OK");
  });

  test("gate passes for the digest staging runs and fails (non-zero) for another", async () => {
    await friday("gate", "--stack", "staging", "--image", IMAGE_A);
    expect(stdout[0]).toMatch(/^Gate passed: staging/);
    await expect(friday("gate", "--stack", "staging", "--image", IMAGE_B, "--json")).rejects.toThrow(/^Gate FAILED on staging: runs the promoted digest/);
    expect(JSON.parse(stdout[1])).toMatchObject({ ok: false });
  });
});
