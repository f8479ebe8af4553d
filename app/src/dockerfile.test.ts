import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { PARITY } from "../../infra/parity";

/**
 * No Docker here: these checks read app/Dockerfile and its ignore file the way `docker build -f
 * app/Dockerfile .` would use them, and catch drift between the image, the app and the stack.
 */

const REPO = join(__dirname, "..", "..");
const dockerfile = readFileSync(join(REPO, "app", "Dockerfile"), "utf8");
const instructions = dockerfile
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith("#"));

/** Docker's .dockerignore semantics, for the patterns we use: last match wins, `!` re-includes. */
function ignored(path: string, patterns: string[]): boolean {
  const toRegex = (glob: string) =>
    new RegExp(
      "^" +
        glob
          .replace(/\/$/, "")
          .replace(/[.+^${}()|[\]\\]/g, "\\$&")
          .replace(/\*\*\//g, "\u0000")
          .replace(/\*/g, "[^/]*")
          .replace(/\u0000/g, "(.*/)?") +
        "$",
    );
  const parts = path.split("/");
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  let result = false;
  for (const raw of patterns) {
    const negate = raw.startsWith("!");
    const re = toRegex(negate ? raw.slice(1) : raw);
    if (candidates.some((c) => re.test(c))) result = !negate;
  }
  return result;
}

const ignorePatterns = readFileSync(join(REPO, "app", "Dockerfile.dockerignore"), "utf8")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [relative(REPO, full)];
  });
}

it("copies only paths that exist and that the ignore file sends", () => {
  const sources = instructions
    .filter((line) => line.startsWith("COPY ") && !line.includes("--from="))
    .flatMap((line) => line.split(/\s+/).slice(1, -1));
  expect(sources).toEqual(["app/package.json", "app/package-lock.json", "packages/openfeature-appconfig-agent/src", "app/src"]);
  for (const source of sources) {
    expect(existsSync(join(REPO, source))).toBe(true);
    expect(ignored(source, ignorePatterns)).toBe(false);
  }
});

it("sends the app's and the provider's sources but no tests, no node_modules, no stack files", () => {
  const sent = [...filesUnder(join(REPO, "app", "src")), ...filesUnder(join(REPO, "packages", "openfeature-appconfig-agent", "src"))].filter(
    (file) => !ignored(file, ignorePatterns),
  );
  expect(sent).toEqual(expect.arrayContaining(["app/src/main.ts", "app/src/server.ts", "packages/openfeature-appconfig-agent/src/index.ts"]));
  expect(sent.filter((f) => f.endsWith(".test.ts") || f.includes("/testing/"))).toEqual([]);
  for (const path of ["node_modules/pg/package.json", "Pulumi.prod.yaml", ".git/config", "app/migrations/0001.sql", "infra/parity.ts"]) {
    expect(ignored(path, ignorePatterns)).toBe(true);
  }
});

it("runs as a non-root user on the parity-locked container port, with the commit baked in", () => {
  const runtime = instructions.slice(instructions.lastIndexOf(instructions.filter((l) => l.startsWith("FROM ")).at(-1)!));
  expect(runtime.filter((l) => l.startsWith("USER "))).toEqual(["USER node"]);
  expect(runtime).toContain(`EXPOSE ${PARITY.service.containerPort}`);
  expect(runtime.find((l) => l.startsWith("ENV "))).toContain(`PORT=${PARITY.service.containerPort}`);
  expect(runtime.find((l) => l.startsWith("ENV "))).toContain("APP_COMMIT=${APP_COMMIT}");
  expect(runtime).toContain("ARG APP_COMMIT=unknown");
  expect(runtime.some((l) => l.startsWith("HEALTHCHECK"))).toBe(false);
});

it("starts the file the app's build script writes", () => {
  const build = JSON.parse(readFileSync(join(REPO, "app", "package.json"), "utf8")).scripts.build as string;
  expect(build).toContain("--outfile=dist/main.js");
  expect(dockerfile).toContain("COPY --from=build /build/app/dist/ /app/");
  expect(instructions.at(-1)).toBe('CMD ["node", "--enable-source-maps", "main.js"]');
});
