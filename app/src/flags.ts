import { OpenFeature, type Client } from "@openfeature/server-sdk";
// The provider package lives in this repository (packages/); the image's build copies it in.
import { AppConfigAgentProvider } from "../../packages/openfeature-appconfig-agent/src";

/**
 * The one place the app chooses its OpenFeature provider.
 *
 * With APPCONFIG_APPLICATION and APPCONFIG_ENVIRONMENT set (the task definition sets them when the
 * AppConfig Agent sidecar runs), flags come from the agent on localhost (APPCONFIG_AGENT_URL, default
 * http://localhost:2772; profile APPCONFIG_PROFILE, default "flags"). Without them the SDK's default
 * no-op provider answers every flag with the default the code passes — features stay dark.
 * Either way a flag read never throws into request handling: an unreachable agent means the default.
 */

/** Flags the app reads, with the value it uses when the flag cannot be read. */
export const FLAGS = {
  newGreeting: { key: "new-greeting", default: false },
} as const;

export interface FlagSettings {
  /** "appconfig-agent" or "noop". */
  readonly provider: "appconfig-agent" | "noop";
  readonly application?: string;
  readonly environment?: string;
  readonly profile?: string;
  readonly endpoint?: string;
}

/** Reads which provider to use from the environment. */
export function flagSettingsFromEnv(env: NodeJS.ProcessEnv): FlagSettings {
  const application = env.APPCONFIG_APPLICATION?.trim();
  const environment = env.APPCONFIG_ENVIRONMENT?.trim();
  if (!application && !environment) return { provider: "noop" };
  if (!application || !environment) {
    throw new Error("app: set both APPCONFIG_APPLICATION and APPCONFIG_ENVIRONMENT (to read flags from the AppConfig Agent) or neither (flags stay at their defaults).");
  }
  return {
    provider: "appconfig-agent",
    application,
    environment,
    profile: env.APPCONFIG_PROFILE?.trim() || "flags",
    endpoint: env.APPCONFIG_AGENT_URL?.trim() || "http://localhost:2772",
  };
}

/**
 * Sets the provider for `domain` (one per app instance; tests use their own) and returns its client.
 * Waits for the provider's first read of the agent, which is bounded by its request timeout; when it
 * fails (status ERROR) this still returns: an agent that is not up yet only means defaults until it is.
 */
export async function configureFlags(settings: FlagSettings, domain = "friday-app", extra: { timeoutMs?: number } = {}): Promise<Client> {
  if (settings.provider === "appconfig-agent") {
    const provider = new AppConfigAgentProvider({
      application: settings.application!,
      environment: settings.environment!,
      profile: settings.profile,
      endpoint: settings.endpoint,
      ...(extra.timeoutMs ? { timeoutMs: extra.timeoutMs } : {}),
    });
    try {
      await OpenFeature.setProviderAndWait(domain, provider);
    } catch {
      // The agent did not answer (not up yet, or down): the provider's status is ERROR, every flag
      // reads its default, and it probes the agent until it answers (then READY). The SDK has
      // logged why; it is no reason for the app not to start.
    }
  }
  // No provider set for the domain: the client falls back to the default (no-op) provider.
  return OpenFeature.getClient(domain);
}

/** Closes every provider (the agent's keep-alive sockets). */
export async function closeFlags(): Promise<void> {
  await OpenFeature.close();
}
