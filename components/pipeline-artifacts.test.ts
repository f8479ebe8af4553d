import { validatePipelineArtifactsArgs, type PipelineArtifactsArgs } from "./pipeline-artifacts";

const valid: PipelineArtifactsArgs = { pipelineName: "friday", cliBundle: { path: "/tmp/friday.js", sha256: "ab".repeat(32), bytes: 1, stubbed: [] } };

describe("validatePipelineArtifactsArgs", () => {
  it("takes the defaults and the ends of each range", () => {
    expect(() => validatePipelineArtifactsArgs("art", valid)).not.toThrow();
    expect(() => validatePipelineArtifactsArgs("art", { ...valid, artifactRetentionDays: 7, noncurrentVersionDays: 3650 })).not.toThrow();
  });

  it.each([6, 3651, 30.5])("refuses keeping artifacts %p days", (days) => {
    expect(() => validatePipelineArtifactsArgs("art", { ...valid, artifactRetentionDays: days })).toThrow(
      `PipelineArtifacts "art": artifactRetentionDays must be a whole number from 7 to 3650 (got ${days}); rollbacks need the artifacts of recent runs.`,
    );
  });

  it.each([0, 3651, 1.5])("refuses keeping old versions %p days", (days) => {
    expect(() => validatePipelineArtifactsArgs("art", { ...valid, noncurrentVersionDays: days })).toThrow(
      `PipelineArtifacts "art": noncurrentVersionDays must be a whole number from 1 to 3650 (got ${days}).`,
    );
  });
});
