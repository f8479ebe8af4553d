/**
 * @friday/openfeature-appconfig-agent — an OpenFeature server provider for the AWS AppConfig Agent.
 * The public API is this file: the provider and its options. See README.md.
 */
export { AppConfigAgentProvider } from "./provider";
export type { AppConfigAgentProviderOptions } from "./provider";
