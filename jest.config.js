/** Tests transpile with swc (no type checking: `npm test` runs `tsc --noEmit` once first). */
module.exports = {
  testEnvironment: "node",
  transform: { "^.+\\.tsx?$": ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } }, module: { type: "commonjs" } }] },
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
  globalSetup: "<rootDir>/test/support/postgres-global-setup.ts",
  globalTeardown: "<rootDir>/test/support/postgres-global-teardown.ts",
  setupFilesAfterEnv: ["aws-sdk-client-mock-jest"],
  testTimeout: 60000,
  maxWorkers: 2,
};
