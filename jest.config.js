// The project runs on Node 20 (see the developers' guide); the AWS SDK's one-off notice that its releases
// after January 2027 need Node 22 is about upgrading, not about any test, and each worker printed it. This
// is the SDK's own switch for that single notice (@aws-sdk/core emitWarningIfUnsupportedVersion); every
// other warning still reaches the log. Workers inherit it from this process.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

/** Tests transpile with swc (no type checking: `npm test` runs `tsc --noEmit` once first). */
module.exports = {
  testEnvironment: "node",
  // @pulumi/pulumi keeps its runtime state on the global object by design (one store shared by every
  // copy of the library in a process), and reads it again from a process-exit hook that checks for
  // leaked promises. Jest 30's default "soft" clean-up of globals between files turns that read into
  // a DeprecationWarning in the test log ("'leakCandidates' property was accessed on [LocalStore]
  // after it was soft deleted"); "on" would delete state Pulumi still uses. "off" is Jest 29's
  // behaviour. Memory is not a concern here: two workers, 24 GiB.
  testEnvironmentOptions: { globalsCleanup: "off" },
  transform: { "^.+\\.tsx?$": ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } }, module: { type: "commonjs" } }] },
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
  globalSetup: "<rootDir>/test/support/postgres-global-setup.ts",
  globalTeardown: "<rootDir>/test/support/postgres-global-teardown.ts",
  setupFilesAfterEnv: ["aws-sdk-client-mock-jest"],
  testTimeout: 60000,
  maxWorkers: 2,
  // "A worker process has failed to exit gracefully" was not a leaked handle: with a probe in each
  // worker (process.getActiveResourcesInfo() every 100 ms, and an "exit" log) both workers held only
  // their stdio at the end and exited by themselves ~120 ms after jest's end message, yet the parent,
  // on a 2-core box at load 10-20, took longer than its 500 ms default to see those exits and
  // reported them as forced. Leaks would still show: each file's handles were closed by the next file.
  workerGracefulExitTimeout: 5000,
};
