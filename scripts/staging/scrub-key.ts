import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

/** Reads the scrub key from a Secrets Manager secret: its string (or a JSON object's "key"), or its binary. */
export async function readScrubKey(client: SecretsManagerClient, secretArn: string): Promise<Buffer> {
  const secret = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (secret.SecretString !== undefined) {
    const text = secret.SecretString;
    if (text.trim().startsWith("{")) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error(`secret ${secretArn} looks like JSON but does not parse: store the key as plain text or as {"key": "..."}`);
      }
      const key = (parsed as { key?: unknown }).key;
      if (typeof key !== "string" || !key) throw new Error(`secret ${secretArn} is a JSON object without a "key" string: store the key as plain text or as {"key": "..."}`);
      return Buffer.from(key, "utf8");
    }
    return Buffer.from(text, "utf8");
  }
  if (secret.SecretBinary) return Buffer.from(secret.SecretBinary);
  throw new Error(`secret ${secretArn} has no value: put one with \`aws secretsmanager put-secret-value --secret-id ${secretArn} --secret-string "$(openssl rand -base64 48)"\``);
}
