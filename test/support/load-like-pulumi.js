// Loads the program exactly the way `pulumi up` does — @pulumi/pulumi's own cmd/run: it registers
// the project's ts-node (type checking on, the project's tsconfig.json) and requires the `main` of
// Pulumi.yaml — but under mocks instead of a Pulumi engine. Prints the stack outputs as JSON.
// Usage: node test/support/load-like-pulumi.js <stack>
"use strict";
const path = require("path");
const fs = require("fs");
const root = path.join(__dirname, "..", "..");
process.chdir(root);
const pulumi = require("@pulumi/pulumi");
const YAML = require("yaml");

async function main() {
  const stack = process.argv[2] || "staging";
  const project = YAML.parse(fs.readFileSync("Pulumi.yaml", "utf8"));
  const stackFile = YAML.parse(fs.readFileSync(`Pulumi.${stack}.yaml`, "utf8"));
  const config = {};
  for (const [key, value] of Object.entries(stackFile.config || {})) config[key] = typeof value === "string" ? value : JSON.stringify(value);
  let resources = 0;
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        resources++;
        return { id: `${args.name}-id`, state: { arn: `arn:aws:mock:us-east-1:123456789012:${args.name}`, ...args.inputs, masterUserSecrets: [{ secretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db" }], repoDigest: `repo@sha256:${"0".repeat(64)}`, environmentId: "env", configurationProfileId: "prof", repositoryUrl: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${args.name}`, dnsName: `${args.name}.elb.amazonaws.com`, engineVersionActual: args.inputs.engineVersion } };
      },
      call: (args) => ({ names: ["us-east-1a", "us-east-1b"], region: "us-east-1", accountId: "123456789012", userName: "AWS", password: "x", instanceIdentifiers: [], ...args.inputs }),
    },
    project.name,
    stack,
    false,
  );
  pulumi.runtime.setAllConfig(config, []);
  process.env.PULUMI_NODEJS_TYPESCRIPT = String(project.runtime.options.typescript === true);
  delete process.env.PULUMI_NODEJS_TRANSPILE_ONLY;
  // cmd/run/index.js is the CLI wrapper (argv parsing, then run()); run.js imports it only for an
  // exit-code constant, so stand in for it rather than let it parse our argv.
  const indexPath = require.resolve("@pulumi/pulumi/cmd/run/index.js");
  require.cache[indexPath] = { id: indexPath, filename: indexPath, loaded: true, exports: { nodeJSProcessExitedAfterLoggingUserActionableMessage: 32 } };
  const { run } = require("@pulumi/pulumi/cmd/run/run");
  const errors = new Set();
  const outputs = await run({ _: [project.main] }, () => undefined, (e) => errors.add(e), (e) => errors.has(e));
  const resolved = {};
  for (const [key, value] of Object.entries(outputs || {})) resolved[key] = await (pulumi.Output.isInstance(value) ? new Promise((r) => value.apply(r)) : value);
  process.stdout.write(JSON.stringify({ resources, outputs: resolved }) + "\n");
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
