import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { STACK_PARAMETERS } from "./stack-parameters";

/**
 * `pulumi up` loads the program through @pulumi/pulumi's cmd/run: it registers the project's
 * ts-node with type checking and the project's tsconfig.json, then requires Pulumi.yaml's `main`.
 * This test does exactly that (under mocks, in a child process), so a program that only works
 * under jest's transpile-only loader — or that does not type-check — fails here, not at `pulumi up`.
 */
it("loads the way `pulumi up` loads it: ts-node with type checking, entry from Pulumi.yaml", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [join(__dirname, "..", "test", "support", "load-like-pulumi.js"), "staging"], {
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, PULUMI_NODEJS_TRANSPILE_ONLY: "" },
  });
  const { resources, outputs } = JSON.parse(stdout.trim().split("\n").pop()!);
  expect(resources).toBeGreaterThan(50);
  for (const key of Object.keys(STACK_PARAMETERS)) expect(outputs).toHaveProperty(key);
  expect(outputs.clusterName).toBe("friday-staging");
}, 240_000);
