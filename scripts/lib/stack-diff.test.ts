import { PARITY } from "../../infra/parity";
import type { OfflineRun, RecordedResource } from "./offline-program";
import { diffStacks, parityViolations } from "./stack-diff";

/** A run holding the given resources (names written with `<stack>`), as the offline program records them. */
function run(stack: "staging" | "prod", resources: Array<{ type: string; name: string; inputs: Record<string, unknown> }>): OfflineRun {
  const recorded: RecordedResource[] = resources.map((r) => ({
    type: r.type, name: r.name.replace("<stack>", stack), custom: true, dependencies: [],
    options: { ignoreChanges: [], protect: false, retainOnDelete: false }, inputs: r.inputs, state: {},
  }));
  return { stack, resources: recorded, outputs: {}, warnings: [] };
}

const SG = "aws:ec2/securityGroup:SecurityGroup";
const TEST_PORT = PARITY.service.testListenerPort;
const http = { protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["0.0.0.0/0"] };
const testListener = (ips: string[]) => ({ protocol: "tcp", fromPort: TEST_PORT, toPort: TEST_PORT, cidrBlocks: ips });
const ssh = { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] };
const fromAlb = { protocol: "tcp", fromPort: 8080, toPort: 8080, securityGroups: ["sg-alb"] };

/** Staging and prod as the environment builds them, prod with the changes `prod` makes. */
function violations(prodChanges: Partial<Record<string, Record<string, unknown>>> = {}, extraProd: Array<{ type: string; name: string; inputs: Record<string, unknown> }> = []): string[] {
  const base = (ips: string[]) => [
    { type: SG, name: "friday-<stack>-lb-sg", inputs: { ingress: [http, testListener(ips)] } },
    { type: SG, name: "friday-<stack>-service-sg", inputs: { ingress: [fromAlb] } },
    { type: "aws:cloudwatch/logGroup:LogGroup", name: "friday-<stack>-service-logs", inputs: { retentionInDays: 14 } },
    { type: "aws:cloudwatch/logGroup:LogGroup", name: "friday-<stack>-refresh-logs", inputs: { retentionInDays: 14 } },
    { type: "aws:cloudwatch/metricAlarm:MetricAlarm", name: "friday-<stack>-alarms-alb-5xx-rate", inputs: { threshold: 5 } },
    { type: "aws:cloudwatch/metricAlarm:MetricAlarm", name: "friday-<stack>-other-alarm", inputs: { threshold: 5 } },
    { type: "aws:ec2/natGateway:NatGateway", name: "friday-<stack>-network-nat-0", inputs: {} },
  ];
  const prod = base(["203.0.113.1/32", "203.0.113.2/32"]).map((r) => ({ ...r, inputs: { ...r.inputs, ...(prodChanges[r.name] ?? {}) } }));
  return parityViolations(diffStacks(run("staging", base(["203.0.113.1/32"])), run("prod", [...prod, ...extraProd])));
}

describe("parityViolations", () => {
  it("allows the named knobs: the test listener's sources, a rollback alarm's threshold, the app logs' retention, prod's second NAT", () => {
    expect(violations(
      { "friday-<stack>-service-logs": { retentionInDays: 90 }, "friday-<stack>-alarms-alb-5xx-rate": { threshold: 2 } },
      [{ type: "aws:ec2/natGateway:NatGateway", name: "friday-<stack>-network-nat-1", inputs: {} }],
    )).toEqual([]);
  });

  it("refuses SSH from anywhere on prod's service security group", () => {
    expect(violations({ "friday-<stack>-service-sg": { ingress: [fromAlb, ssh] } })).toEqual(expect.arrayContaining([
      'aws:ec2/securityGroup:SecurityGroup friday-<stack>-service-sg: ingress.1.fromPort differs (staging undefined, prod 22)',
    ]));
  });

  it("refuses another rule on the ALB's security group, wherever it sits in the list", () => {
    expect(violations({ "friday-<stack>-lb-sg": { ingress: [http, testListener(["203.0.113.1/32", "203.0.113.2/32"]), ssh] } })).toEqual(expect.arrayContaining([
      'aws:ec2/securityGroup:SecurityGroup friday-<stack>-lb-sg: ingress.2.fromPort differs (staging undefined, prod 22)',
    ]));
    expect(violations({ "friday-<stack>-lb-sg": { ingress: [ssh, http, testListener(["203.0.113.1/32", "203.0.113.2/32"])] } }).length).toBeGreaterThan(0);
    // Opening the HTTP rule differently is not the test listener's knob either.
    expect(violations({ "friday-<stack>-lb-sg": { ingress: [{ ...http, cidrBlocks: ["10.0.0.0/8"] }, testListener(["203.0.113.1/32", "203.0.113.2/32"])] } })).toEqual([
      'aws:ec2/securityGroup:SecurityGroup friday-<stack>-lb-sg: ingress.0.cidrBlocks differs (staging ["0.0.0.0/0"], prod ["10.0.0.0/8"])',
    ]);
  });

  it("refuses the same input on a resource of the same type that the list does not name", () => {
    expect(violations({ "friday-<stack>-refresh-logs": { retentionInDays: 90 } })).toEqual([
      "aws:cloudwatch/logGroup:LogGroup friday-<stack>-refresh-logs: retentionInDays differs (staging 14, prod 90)",
    ]);
    expect(violations({ "friday-<stack>-other-alarm": { threshold: 2 } })).toEqual([
      "aws:cloudwatch/metricAlarm:MetricAlarm friday-<stack>-other-alarm: threshold differs (staging 5, prod 2)",
    ]);
  });

  it("refuses another input of a named resource, and a resource only one stack has", () => {
    expect(violations({ "friday-<stack>-service-logs": { kmsKeyId: "k" } })).toEqual([
      'aws:cloudwatch/logGroup:LogGroup friday-<stack>-service-logs: kmsKeyId differs (staging undefined, prod "k")',
    ]);
    expect(violations({}, [{ type: "aws:ec2/natGateway:NatGateway", name: "friday-<stack>-network-nat-2", inputs: {} }])).toEqual([
      "aws:ec2/natGateway:NatGateway friday-<stack>-network-nat-2: only in prod",
    ]);
  });
});
