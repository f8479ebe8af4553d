import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { parse } from "yaml";
import { stackSettingsSchema } from "../infra/config";
import { buildCli } from "../scripts/cli";
import { BUILDSPEC_DIR, BuildspecName, validatePipelineBuildProjectArgs } from "./pipeline-build-project";

/**
 * The buildspecs are YAML CodeBuild accepts, and every command they run exists: friday subcommands
 * (with their flags) that buildCli() registers, npm scripts package.json defines, and a short list
 * of tools the CodeBuild image provides.
 */

const REPO_ROOT = join(__dirname, "..");
const NAMES: BuildspecName[] = ["test", "build", "migrate", "deploy", "smoke", "gate", "infra-preview", "infra-up"];

/** Tools of the CodeBuild image (Amazon Linux standard) and shell builtins the buildspecs use. */
const SYSTEM_TOOLS = new Set(["[", "aws", "docker", "echo", "test", "install", "printf", "grep", "sha256sum", "eval", "export", "exit", "true", "node", "curl", "tar", "uname", "sed"]);

interface Buildspec {
  version: number;
  env?: { shell?: string; "exported-variables"?: string[] };
  phases: Record<string, { commands?: string[]; "runtime-versions"?: Record<string, unknown> }>;
}

function load(name: string): Buildspec {
  return parse(readFileSync(join(BUILDSPEC_DIR, `${name}.yml`), "utf8")) as Buildspec;
}

function commandsOf(spec: Buildspec): string[] {
  return Object.values(spec.phases).flatMap((phase) => phase.commands ?? []);
}

/**
 * Splits shell text into simple commands (first word + arguments): command substitutions become
 * commands of their own, quoted strings become a placeholder, and lists/pipes/blocks are split.
 */
export function simpleCommands(text: string): string[][] {
  const out: string[][] = [];
  // Parameter expansions and array assignments are values, not commands.
  let rest = text.replace(/\$\{[^}]*\}/g, "VALUE").replace(/=\(([^()]*)\)/g, "=ARRAY");
  for (let match = /\$\(([^()]*)\)/.exec(rest); match; match = /\$\(([^()]*)\)/.exec(rest)) {
    out.push(...simpleCommands(match[1]));
    rest = rest.slice(0, match.index) + "SUBST" + rest.slice(match.index + match[0].length);
  }
  // Keep what is inside double quotes only when it is a plain word or a variable; otherwise a placeholder.
  rest = rest.replace(/"([^"]*)"/g, (_m, inner: string) => (/^[\w$@{}:./%#*-]*$/.test(inner) ? inner : "QUOTED")).replace(/'[^']*'/g, "QUOTED");
  for (const piece of rest.split(/\n|;|&&|\|\||\||\{|\}|\(|\)/)) {
    const words = piece.trim().split(/\s+/).filter(Boolean);
    while (words.length && ["if", "then", "else", "fi", "!", "do", "done", "export"].includes(words[0])) words.shift();
    // VAR=value assignments, alone or as a command's environment prefix.
    while (words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) words.shift();
    if (!words.length) continue;
    out.push(words);
  }
  return out;
}

function findSubcommand(root: Command, words: string[]): { command: Command; used: number } | undefined {
  let command = root;
  let used = 0;
  while (used < words.length && !words[used].startsWith("-")) {
    const next = command.commands.find((c) => c.name() === words[used]);
    if (!next) break;
    command = next;
    used++;
  }
  return used === 0 ? undefined : { command, used };
}

/** Checks one simple command; returns a problem, or undefined when the command exists. */
function problemWith(words: string[], cli: Command, scripts: Record<string, string>): string | undefined {
  const [tool, ...args] = words;
  if (tool === "friday" || (tool === "npx" && args[0] === "friday")) {
    const rest = tool === "npx" ? args.slice(1) : args;
    const found = findSubcommand(cli, rest);
    if (!found || found.command.commands.length > 0) return `friday ${rest.join(" ")}: no such command in buildCli()`;
    const known = new Set(found.command.options.map((o) => o.long));
    const flags = rest.slice(found.used).filter((w) => w.startsWith("--"));
    const unknown = flags.filter((f) => !known.has(f.split("=")[0]));
    return unknown.length ? `friday ${rest.slice(0, found.used).join(" ")}: unknown option(s) ${unknown.join(", ")}` : undefined;
  }
  if (tool === "npm") {
    if (args[0] === "run") return scripts[args[1]] ? undefined : `npm run ${args[1]}: no such script in package.json`;
    if (args[0] === "test") return scripts.test ? undefined : "npm test: package.json has no test script";
    if (["ci", "prefix"].includes(args[0])) return undefined;
    return `npm ${args[0]}: not a command the buildspecs may use`;
  }
  if (tool === "npx") return `npx ${args[0]}: only npx friday is allowed`;
  if (tool === "install" || SYSTEM_TOOLS.has(tool)) return undefined;
  return `${tool}: not a known tool`;
}

const scripts = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).scripts as Record<string, string>;

describe("buildspecs", () => {
  test("the folder holds exactly the buildspecs the pipeline uses", () => {
    expect(readdirSync(BUILDSPEC_DIR).filter((f) => f.endsWith(".yml")).sort()).toEqual(NAMES.map((n) => `${n}.yml`).sort());
  });

  test.each(NAMES)("%s.yml parses as a CodeBuild 0.2 buildspec with a build phase", (name) => {
    const spec = load(name);
    expect(spec.version).toBe(0.2);
    expect(spec.env?.shell).toBe("bash");
    expect(spec.phases.build?.commands?.length).toBeGreaterThan(0);
    for (const phase of Object.keys(spec.phases)) expect(["install", "pre_build", "build", "post_build"]).toContain(phase);
    for (const command of commandsOf(spec)) expect(typeof command).toBe("string");
  });

  test.each(NAMES)("%s.yml calls only commands that exist in the repo", (name) => {
    const cli = buildCli();
    const problems = commandsOf(load(name))
      .flatMap((c) => simpleCommands(c))
      .map((words) => problemWith(words, cli, scripts))
      .filter(Boolean);
    expect(problems).toEqual([]);
  });

  test("the default test and lint commands exist too (the test buildspec evals them)", () => {
    const defaults = stackSettingsSchema.shape.pipeline.unwrap().parse({ repository: "acme/app", infra: { backendUrl: "https://api.pulumi.com", accessTokenSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:pulumi-token-AbCdEf" } });
    const cli = buildCli();
    for (const command of [defaults.testCommand, defaults.lintCommand]) {
      expect(simpleCommands(command).map((w) => problemWith(w, cli, scripts)).filter(Boolean)).toEqual([]);
    }
  });

  test("the checker itself rejects what does not exist", () => {
    const cli = buildCli();
    expect(problemWith(["friday", "migrate", "explode"], cli, scripts)).toMatch(/no such command/);
    expect(problemWith(["friday", "smoke", "--stack", "staging", "--nope"], cli, scripts)).toBe("friday smoke: unknown option(s) --nope");
    expect(problemWith(["npm", "run", "no-such-script"], cli, scripts)).toMatch(/no such script/);
    expect(problemWith(["wget", "http://x"], cli, scripts)).toBe("wget: not a known tool");
    expect(simpleCommands('export X="$(aws ecr describe-images --repository-name "$R")" && friday gate --stack "$S" --json')).toEqual([
      ["aws", "ecr", "describe-images", "--repository-name", "$R"],
      ["friday", "gate", "--stack", "$S", "--json"],
    ]);
  });

  test("the build buildspec exports the digest variables the deploy actions read", () => {
    const spec = load("build");
    expect(spec.env?.["exported-variables"]).toEqual(["IMAGE_URI", "IMAGE_DIGEST", "IMAGE_TAG"]);
    const text = commandsOf(spec).join("\n");
    expect(text).toContain('export IMAGE_URI="$ECR_REPOSITORY_URL@$IMAGE_DIGEST"');
    expect(text).toMatch(/--platform "\$DOCKER_PLATFORM"/);
  });

  test("every step that runs friday verifies the bundle's SHA-256 before running it", () => {
    for (const name of NAMES.filter((n) => n !== "build")) {
      const install = load(name).phases.install?.commands ?? [];
      expect(install).toEqual([
        'aws s3api get-object --bucket "$FRIDAY_CLI_BUCKET" --key "$FRIDAY_CLI_KEY" /tmp/friday.js > /dev/null',
        'echo "$FRIDAY_CLI_SHA256  /tmp/friday.js" | sha256sum --check --strict -',
        'install -m 0755 /tmp/friday.js "$(npm prefix -g)/bin/friday"',
      ]);
    }
  });
});

describe("validatePipelineBuildProjectArgs", () => {
  const args = { projectName: "friday-test", description: "x", buildspec: "test" as const, policy: { Version: "2012-10-17" as const, Statement: [] }, variables: [], artifactsKeyArn: "k" };
  test("rejects a bad project name, timeout or variable", () => {
    expect(() => validatePipelineBuildProjectArgs("p", { ...args, projectName: "-x" })).toThrow('PipelineBuildProject "p": projectName must be 2-150 letters, digits, "-" or "_" (got "-x").');
    expect(() => validatePipelineBuildProjectArgs("p", { ...args, timeoutMinutes: 3 })).toThrow('PipelineBuildProject "p": timeoutMinutes must be a whole number from 5 to 2160 (got 3).');
    expect(() => validatePipelineBuildProjectArgs("p", { ...args, variables: [{ name: "X", value: "1" }, { name: "X", value: "2" }] })).toThrow(
      'PipelineBuildProject "p": variable X is set twice; keep one.',
    );
    expect(() => validatePipelineBuildProjectArgs("p", { ...args, variables: [{ name: "lower_case", value: "1" }] })).toThrow(
      'PipelineBuildProject "p": variable name must be UPPER_SNAKE_CASE (got "lower_case").',
    );
  });
});
