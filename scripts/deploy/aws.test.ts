import { DescribeServiceDeploymentsCommand, ECSClient } from "@aws-sdk/client-ecs";
import { awsCall, awsClientConfig, AWS_MAX_ATTEMPTS, createDeployClients, DeployError, principalFromDenial } from "./aws";
import { awsError } from "./test-fixtures";

const DEP = "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/s/abc";

/** A fake HTTP layer under a real SDK client: answers with the given responses in order. */
function fakeHttp(responses: Array<{ statusCode: number; body: unknown; errorType?: string }>) {
  const calls: number[] = [];
  return {
    calls,
    handler: {
      handle: async () => {
        const r = responses[Math.min(calls.length, responses.length - 1)];
        calls.push(calls.length);
        return {
          response: {
            statusCode: r.statusCode,
            headers: { "content-type": "application/x-amz-json-1.1", ...(r.errorType ? { "x-amzn-errortype": r.errorType } : {}) },
            body: new TextEncoder().encode(JSON.stringify(r.body)),
          },
        };
      },
      updateHttpClientConfig: () => undefined,
      httpHandlerConfigs: () => ({}),
    },
  };
}

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" };

describe("AWS SDK retry configuration (real client, fake HTTP)", () => {
  test("every deploy client uses adaptive retries with AWS_MAX_ATTEMPTS attempts", async () => {
    const clients = createDeployClients("us-east-1");
    for (const client of [clients.ecs, clients.ssm, clients.cloudwatch]) {
      expect(await client.config.maxAttempts()).toBe(AWS_MAX_ATTEMPTS);
      const strategy = (await (client.config.retryStrategy as unknown as () => Promise<{ mode: string }>)()) as { mode: string };
      expect(strategy.mode).toBe("adaptive");
    }
  });

  test("a throttled call is retried with backoff and then succeeds", async () => {
    const http = fakeHttp([
      { statusCode: 400, errorType: "ThrottlingException", body: { __type: "ThrottlingException", message: "Rate exceeded" } },
      { statusCode: 200, body: { serviceDeployments: [{ serviceDeploymentArn: DEP, status: "SUCCESSFUL" }] } },
    ]);
    const ecs = new ECSClient({ ...awsClientConfig("us-east-1"), credentials, requestHandler: http.handler as never });
    const response = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [DEP] }));
    expect(response.serviceDeployments?.[0].status).toBe("SUCCESSFUL");
    expect(http.calls).toHaveLength(2);
  });

  test("access denied is not retried and surfaces naming the action and the role", async () => {
    const message = "User: arn:aws:sts::123456789012:assumed-role/ops-readonly/alice is not authorized to perform: ecs:DescribeServiceDeployments on resource: *";
    const http = fakeHttp([{ statusCode: 400, errorType: "AccessDeniedException", body: { __type: "AccessDeniedException", message } }]);
    const ecs = new ECSClient({ ...awsClientConfig("us-east-1"), credentials, requestHandler: http.handler as never });
    await expect(
      awsCall("ecs:DescribeServiceDeployments", () => ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [DEP] }))),
    ).rejects.toThrow(
      "Permission denied: ecs:DescribeServiceDeployments is not allowed for role ops-readonly (arn:aws:sts::123456789012:assumed-role/ops-readonly/alice).",
    );
    expect(http.calls).toHaveLength(1);
  });
});

describe("explaining AWS errors", () => {
  test("throttling that outlasts the retries says so", async () => {
    await expect(awsCall("ecs:UpdateService", () => Promise.reject(awsError("ThrottlingException", "Rate exceeded")))).rejects.toThrow(
      `AWS kept throttling ecs:UpdateService after ${AWS_MAX_ATTEMPTS} attempts with backoff.`,
    );
  });

  test("expired credentials say how to log in again", async () => {
    await expect(awsCall("ssm:GetParameters", () => Promise.reject(awsError("ExpiredTokenException", "The security token included in the request is expired")))).rejects.toThrow(
      "No valid AWS credentials for ssm:GetParameters: The security token included in the request is expired. Log in again",
    );
  });

  test("other errors keep AWS's words and name the action", async () => {
    const error = await awsCall("ecs:UpdateService", () => Promise.reject(awsError("InvalidParameterException", "bad thing"))).catch((e) => e);
    expect(error).toBeInstanceOf(DeployError);
    expect(error.message).toBe("ecs:UpdateService failed: InvalidParameterException: bad thing");
  });

  test("the principal of a denial: role name for assumed roles, ARN for users, nothing when AWS does not say", () => {
    expect(principalFromDenial("User: arn:aws:iam::123456789012:user/bob is not authorized to perform: x")).toBe("arn:aws:iam::123456789012:user/bob");
    expect(principalFromDenial("Access denied")).toBeUndefined();
  });
});
