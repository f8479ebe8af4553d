import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { Command } from "commander";
import { registerSmoke, runSmokeTests, SmokeError } from "./smoke";
import { APPLY_STACK_HINT } from "../lib/apply-stack";

const ssmMock = mockClient(SSMClient);

/** A real HTTP server answering from a scripted list of statuses per path. */
async function serve(script: Record<string, number[]>): Promise<{ url: string; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? "");
    const statuses = script[req.url ?? ""] ?? [404];
    res.statusCode = statuses.length > 1 ? statuses.shift()! : statuses[0];
    res.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, hits, close: () => new Promise((r) => server.close(() => r())) };
}

const noSleep = async () => undefined;

beforeEach(() => ssmMock.reset());

test("reads the service URL from the stack's SSM parameter and passes on a 2xx health check", async () => {
  const server = await serve({ "/healthz": [200] });
  ssmMock.on(GetParameterCommand, { Name: "/friday/staging/service-url" }).resolves({ Parameter: { Value: `${server.url}/` } });
  try {
    const result = await runSmokeTests(new SSMClient({ region: "us-east-1" }), { stack: "staging", sleep: noSleep });
    expect(result).toMatchObject({ stack: "staging", serviceUrl: server.url, checks: [{ url: `${server.url}/healthz`, status: 200, attempts: 1 }] });
    expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, { Name: "/friday/staging/service-url" });
    expect(server.hits).toEqual(["/healthz"]);
  } finally {
    await server.close();
  }
});

test("retries while the service warms up, then passes", async () => {
  const server = await serve({ "/healthz": [503, 502, 200] });
  ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: server.url } });
  const lines: string[] = [];
  try {
    const result = await runSmokeTests(new SSMClient({ region: "us-east-1" }), { stack: "staging", sleep: noSleep, log: (l) => lines.push(l) });
    expect(result.checks[0]).toMatchObject({ status: 200, attempts: 3 });
    expect(lines.filter((l) => l.includes("failed (HTTP 50"))).toHaveLength(2);
  } finally {
    await server.close();
  }
});

test("fails after the last try with the path and the last status", async () => {
  const server = await serve({ "/healthz": [500] });
  ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: server.url } });
  try {
    await expect(runSmokeTests(new SSMClient({ region: "us-east-1" }), { stack: "staging", attempts: 2, sleep: noSleep })).rejects.toThrow(
      `Smoke test failed: ${server.url}/healthz did not answer 2xx in 2 tries (last: HTTP 500). The staging deploy is not healthy.`,
    );
    expect(server.hits).toHaveLength(2);
  } finally {
    await server.close();
  }
});

test("checks every extra path; a redirect is not a pass", async () => {
  const server = await serve({ "/healthz": [200], "/login": [302] });
  ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: server.url } });
  try {
    await expect(
      runSmokeTests(new SSMClient({ region: "us-east-1" }), { stack: "staging", paths: ["/healthz", "/login"], attempts: 1, sleep: noSleep }),
    ).rejects.toThrow("/login did not answer 2xx in 1 tries (last: HTTP 302)");
  } finally {
    await server.close();
  }
});

test("a stack that never published its URL gets the fix, and bad input fails before any AWS call", async () => {
  ssmMock.on(GetParameterCommand).rejects(Object.assign(new Error("not found"), { name: "ParameterNotFound" }));
  await expect(runSmokeTests(new SSMClient({ region: "us-east-1" }), { stack: "staging" })).rejects.toThrow(
    `/friday/staging/service-url does not exist: the stack publishes its service URL there; ${APPLY_STACK_HINT}.`,
  );
  ssmMock.reset();
  await expect(runSmokeTests(new SSMClient({ region: "us-east-1" }), { stack: "qa" })).rejects.toThrow(SmokeError);
  await expect(runSmokeTests(new SSMClient({ region: "us-east-1" }), { stack: "staging", paths: ["healthz"] })).rejects.toThrow(
    '--path must start with "/" (got "healthz").',
  );
  expect(ssmMock).not.toHaveReceivedCommand(GetParameterCommand);
});

test("`friday smoke --stack staging --json` prints the result", async () => {
  const server = await serve({ "/healthz": [200] });
  ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: server.url } });
  const printed: string[] = [];
  const spy = jest.spyOn(console, "log").mockImplementation((line: string) => void printed.push(line));
  try {
    const program = new Command("friday").exitOverride();
    registerSmoke(program, () => new SSMClient({ region: "us-east-1" }));
    await program.parseAsync(["node", "friday", "smoke", "--stack", "staging", "--json"]);
    expect(JSON.parse(printed.join("\n"))).toMatchObject({ stack: "staging", checks: [{ status: 200 }] });
  } finally {
    spy.mockRestore();
    await server.close();
  }
});
