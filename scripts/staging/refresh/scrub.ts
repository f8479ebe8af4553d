import { AddTagsToResourceCommand } from "@aws-sdk/client-rds";
import { TAG, databaseUrlOf, tagValue } from "./shared";
import type { RefreshContext } from "./context";
import { dropSourceSnapshot } from "./snapshot";
import { verifyScrubbed } from "./verify";

/**
 * Step 3, first half: scrub the isolated instance (over a password set on that instance only),
 * then hand it to the verify (./verify.ts). Resumes past a scrub that was already verified.
 */
export async function scrubAndVerify(run: RefreshContext): Promise<string> {
  // Past this step nothing needs prod's unscrubbed snapshot; a run that stopped right after the
  // verify (before deleting it) deletes it here on resume.
  if (await run.replacementReady()) return `skipped: the replacement already exists${await dropSourceSnapshot(run)}`;
  if (await run.describeSnapshot(run.names.scrubbedSnapshot)) return `skipped: the scrubbed snapshot already exists${await dropSourceSnapshot(run)}`;
  const isolated = await run.waitForInstance(run.names.isolated);
  if (tagValue(isolated.TagList, TAG.scrub) === "verified") return `skipped: already scrubbed and verified${await dropSourceSnapshot(run)}`;

  const rules = await run.db.loadRules(run.options.rulesPath);
  const key = await run.scrubKey();
  const password = run.generatePassword();
  run.secrets.push(password);
  await run.setMasterPassword(isolated, password);
  const databaseUrl = databaseUrlOf(await run.waitForInstance(run.names.isolated), password, undefined, run.options.caBundlePath);

  const before = await run.db.takeSample({ databaseUrl, rules });
  await run.send(new AddTagsToResourceCommand({ ResourceName: isolated.DBInstanceArn, Tags: [{ Key: TAG.scrub, Value: "started" }] }));
  const t0 = run.now().getTime();
  let tables = 0;
  let rows = 0;
  const summary = (await run.db.scrub({
    databaseUrl,
    rules,
    key,
    concurrency: run.concurrency(),
    onProgress: (p) => {
      if (p.table && typeof p.rows === "number" && (p.phase === undefined || p.phase === "done")) {
        tables += 1;
        rows += p.rows;
      }
      run.log(`  scrub: ${run.redact(p.message ?? (p.table ? `${p.table} ${p.rows ?? ""} rows` : JSON.stringify(p)))}`);
    },
  })) as unknown;
  const scrubMs = run.now().getTime() - t0;
  const reported = summary as { tables?: unknown[]; rows?: number } | undefined;
  if (Array.isArray(reported?.tables) && typeof reported?.rows === "number") {
    tables = reported.tables.length;
    rows = reported.rows;
  }
  const verified = await verifyScrubbed(run, isolated, { databaseUrl, rules, before });
  const rate = scrubMs > 0 && rows > 0 ? `, ${Math.round(rows / (scrubMs / 1000))} rows/s` : "";
  return `scrubbed${tables ? ` ${tables} tables, ${rows} rows${rate}` : ""} with ${run.concurrency()} in parallel; ${verified}`;
}
