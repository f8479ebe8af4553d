import * as aws from "@pulumi/aws";
import type { StackConfig } from "../infra/config";

export function createEnvironment(config: StackConfig) {
  const topic = new aws.sns.Topic(`friday-${config.stack}-notifications`, {});
  return { outputs: { notificationsTopicArn: topic.arn } };
}
