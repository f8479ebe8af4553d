import * as aws from "@pulumi/aws";
import { compareVersions } from "./parity";

/**
 * Which PostgreSQL version a stack's database should run, and how prod is held behind staging.
 *
 * PARITY.database.engineVersion is the *minimum* version (major plus minimum minor), not an exact pin.
 * RDS upgrades a minor version by itself when it reaches the end of standard support, even with
 * autoMinorVersionUpgrade off (docs/aws-notes.md). An exact pin would then make the next `pulumi up`
 * (after a refresh) try to move the instance back down, which RDS refuses. So the program reads the
 * version the instance runs and asks for the newer of that and the minimum: drift upward is kept,
 * raising the minimum upgrades the instance, and nothing ever asks for a downgrade.
 */

/** The version to ask RDS for: the live one when it is at least the minimum, else the minimum. */
export function desiredEngineVersion(minimum: string, live: string | undefined): string {
  return live && compareVersions(live, minimum) >= 0 ? live : minimum;
}

/**
 * The engine version the stack's DB instance runs now, or undefined before it exists. Read with the
 * provider's own credentials (two invokes: getInstances answers an empty list for a missing instance,
 * where getInstance would fail).
 */
export async function readLiveEngineVersion(dbInstanceIdentifier: string): Promise<string | undefined> {
  const found = await aws.rds.getInstances({ filters: [{ name: "db-instance-id", values: [dbInstanceIdentifier] }] });
  if (!found.instanceIdentifiers.includes(dbInstanceIdentifier)) return undefined;
  return (await aws.rds.getInstance({ dbInstanceIdentifier })).engineVersion;
}

/**
 * Staging first: prod's `pulumi up` may not move prod to an engine version staging does not run.
 * `stagingEngineVersion` is staging's live version (its dbEngineVersion output); `prodDesired` is what
 * this run would ask for; `prodLive` what prod runs now. RDS may force-upgrade prod before staging:
 * prod then stays where RDS put it (no change is asked for), and the answer is a warning to upgrade
 * staging. Throws before any prod resource is registered.
 */
export function assertStagingIsAhead(stagingStack: string, stagingEngineVersion: unknown, prodDesired: string, prodLive?: string): string | undefined {
  if (typeof stagingEngineVersion !== "string" || !stagingEngineVersion) {
    throw new Error(
      `Staging first: the staging stack "${stagingStack}" has no dbEngineVersion output. Run \`pulumi up -s staging\` before prod ` +
        "(or fix friday:stagingStack in Pulumi.prod.yaml).",
    );
  }
  if (compareVersions(prodDesired, stagingEngineVersion) <= 0) return undefined;
  if (prodDesired === prodLive) {
    return (
      `prod runs PostgreSQL ${prodLive} (upgraded by RDS) but staging ("${stagingStack}") runs ${stagingEngineVersion}: ` +
      "run `pulumi up --refresh -s staging` (or let RDS upgrade it) so staging runs what prod runs."
    );
  }
  throw new Error(
    `Staging first: prod would run PostgreSQL ${prodDesired} but staging ("${stagingStack}") runs ${stagingEngineVersion}. ` +
      "Run `pulumi up -s staging` first, let it bake, then update prod.",
  );
}
