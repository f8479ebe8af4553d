import { validateStackParametersArgs } from "./stack-parameters";

describe("validateStackParametersArgs", () => {
  it("takes a stack name and STACK_PARAMETERS keys", () => {
    expect(() => validateStackParametersArgs("params", { stack: "prod", values: { clusterName: "friday-prod", vpcId: "vpc-1" } })).not.toThrow();
  });

  it.each(["Prod", "", "prod/eu", "1prod"])("refuses the stack name %p", (stack) => {
    expect(() => validateStackParametersArgs("params", { stack, values: {} })).toThrow(
      `StackParameters "params": stack must be a lowercase name like "prod" (got "${stack}").`,
    );
  });

  it("refuses identifiers STACK_PARAMETERS does not list, naming them", () => {
    const values = { clusterName: "c", bucketName: "b", queueUrl: "q" } as unknown as Parameters<typeof validateStackParametersArgs>[1]["values"];
    expect(() => validateStackParametersArgs("params", { stack: "prod", values })).toThrow(
      'StackParameters "params": bucketName, queueUrl not in STACK_PARAMETERS: add them to infra/stack-parameters.ts first.',
    );
  });
});
