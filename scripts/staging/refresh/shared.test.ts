import { assertNotSource } from "./shared";
import { arnOf, NAMES, PROD, STAGING } from "./testing/fake-aws";

describe("assertNotSource (the orchestrator's own guard on every mutating call)", () => {
  const check = (command: string, input: object) => () => assertNotSource(command, input, PROD, arnOf("db", PROD), "staging");

  it("lets CreateDBSnapshot read prod into a staging-named snapshot", () => {
    expect(check("CreateDBSnapshotCommand", { DBInstanceIdentifier: PROD, DBSnapshotIdentifier: NAMES.sourceSnapshot })).not.toThrow();
  });

  it.each([
    ["ModifyDBInstanceCommand", { DBInstanceIdentifier: PROD, MasterUserPassword: "x" }],
    ["DeleteDBInstanceCommand", { DBInstanceIdentifier: PROD }],
    ["AddTagsToResourceCommand", { ResourceName: arnOf("db", PROD), Tags: [] }],
    ["ModifyDBInstanceCommand", { DBInstanceIdentifier: STAGING, NewDBInstanceIdentifier: PROD }],
    ["CreateDBSnapshotCommand", { DBInstanceIdentifier: PROD, DBSnapshotIdentifier: "prod-manual" }],
    ["DeleteDBSnapshotCommand", { DBSnapshotIdentifier: "rds:friday-prod-db-2026-11-25" }],
  ])("refuses %s %j", (command, input) => {
    expect(check(command, input)).toThrow(/refusing .* the refresh only changes resources named "friday-staging-…", never friday-prod-db/);
  });
});
