import { PARITY } from "../infra/parity";
import { validateDatabaseArgs, type DatabaseArgs } from "./database";

const valid: DatabaseArgs = {
  identifier: "friday-test-db",
  vpcId: "vpc-1",
  privateSubnetIds: ["subnet-a", "subnet-b"],
  clientSecurityGroupIds: [],
  engineVersion: PARITY.database.engineVersion,
  parameterGroupFamily: PARITY.database.parameterGroupFamily,
  parameters: {},
  databaseName: "app",
  masterUsername: "friday",
  instanceClass: "db.t4g.medium",
  allocatedStorageGb: 20,
  maxAllocatedStorageGb: 100,
  backupRetentionDays: 7,
  deletionProtection: false,
  finalSnapshot: false,
};

describe("validateDatabaseArgs", () => {
  it("takes the parity settings", () => {
    expect(() => validateDatabaseArgs("db", valid)).not.toThrow();
    expect(() => validateDatabaseArgs("db", { ...valid, maxAllocatedStorageGb: undefined })).not.toThrow();
  });

  it("refuses an instance class without the db. prefix", () => {
    expect(() => validateDatabaseArgs("db", { ...valid, instanceClass: "t4g.micro" })).toThrow('Database "db": instanceClass must start with "db." (got "t4g.micro").');
  });

  it("refuses a parameter-group family of another major version", () => {
    expect(() => validateDatabaseArgs("db", { ...valid, engineVersion: "17.6", parameterGroupFamily: "postgres16" })).toThrow(
      'Database "db": parameterGroupFamily must be "postgres17" for engine 17.6 (got "postgres16").',
    );
  });

  it("refuses fewer than two subnets", () => {
    expect(() => validateDatabaseArgs("db", { ...valid, privateSubnetIds: ["subnet-a"] })).toThrow(
      'Database "db": privateSubnetIds needs subnets in at least 2 AZs (got 1); RDS requires it.',
    );
  });

  it("refuses a storage ceiling below the allocated storage", () => {
    expect(() => validateDatabaseArgs("db", { ...valid, allocatedStorageGb: 100, maxAllocatedStorageGb: 50 })).toThrow(
      'Database "db": maxAllocatedStorageGb (50) must be at least allocatedStorageGb (100).',
    );
  });
});
