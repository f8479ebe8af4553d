import { runOffline, type OfflineRun } from "../scripts/lib/offline-program";
import { parameterName } from "../infra/stack-parameters";

let staging: OfflineRun;
let prod: OfflineRun;

beforeAll(async () => {
  staging = await runOffline("staging");
  prod = await runOffline("prod", { stagingOutputs: staging.outputs });
}, 120_000);

const parameters = (run: OfflineRun) => run.resources.filter((r) => r.type === "aws:ssm/parameter:Parameter" && String(r.inputs.name).startsWith(`/friday/${run.stack}/`) && !String(r.inputs.name).includes("/staging-refresh/"));

describe("StackParameters", () => {
  it.each(["staging", "prod"])("%s: db-secret-arn is the stack's only at creation (the staging refresh moves it); every other parameter follows the stack", (stack) => {
    const run = stack === "staging" ? staging : prod;
    const all = parameters(run);
    const secret = all.find((p) => p.inputs.name === parameterName(stack, "dbSecretArn"));
    expect(secret).toBeDefined();
    expect(secret!.options.ignoreChanges).toEqual(["value"]);
    expect(secret!.inputs.value).toMatch(/^arn:aws:secretsmanager:.*:secret:rds!db-/);
    const others = all.filter((p) => p !== secret);
    expect(others.length).toBeGreaterThan(20);
    for (const p of others) expect([p.inputs.name, p.options.ignoreChanges]).toEqual([p.inputs.name, []]);
  });
});
