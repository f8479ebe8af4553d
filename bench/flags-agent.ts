/**
 * The fake AppConfig Agent as its own process for `npm run bench:flags` (the real agent is a separate
 * process too): prints its URL on stdout, serves until stdin closes.
 */
import { startFakeAgent } from "../packages/openfeature-appconfig-agent/src/testing/fake-agent";

async function main(): Promise<void> {
  const agent = await startFakeAgent();
  agent.deploy(process.argv[2], process.argv[3], process.argv[4], JSON.parse(process.argv[5]));
  process.stdout.write(`${agent.url}\n`);
  process.stdin.resume();
  process.stdin.on("end", () => void agent.close().then(() => process.exit(0)));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
