import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FlagsFileError, loadFlagsFile, parseFlagsFile } from "./flags";

const valid = {
  flags: {
    "new-checkout": { description: "New checkout", owner: "payments", default: false, expires: "2027-03-31", attributes: { maxItems: 20 } },
  },
};

function problems(raw: unknown): string {
  try {
    parseFlagsFile(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(FlagsFileError);
    return (error as Error).message;
  }
  throw new Error("expected the file to be rejected");
}

test("the repository's flags.yaml is valid", () => {
  const file = loadFlagsFile();
  expect(Object.keys(file.flags).length).toBeGreaterThan(0);
  expect(file.settings.staleAfterDays).toBeGreaterThan(0);
});

test("applies defaults and keeps dates as YYYY-MM-DD", () => {
  const file = parseFlagsFile(valid);
  expect(file.settings).toEqual({ staleAfterDays: 30 });
  expect(file.flags["new-checkout"].expires).toBe("2027-03-31");
});

test("flag names follow AppConfig's key pattern", () => {
  expect(problems({ flags: { "New Checkout": valid.flags["new-checkout"] } })).toBe(
    'flags.yaml is invalid:\n  - flags.New Checkout: is not a valid flag name: start with a lowercase letter, then letters, digits, "_" or "-" (max 64)',
  );
});

test("required fields, defaults and expiry are checked, every problem listed by its path", () => {
  const message = problems({ flags: { checkout: { description: "", default: "no", expires: "next year" } } });
  expect(message).toContain("  - flags.checkout.description: is required: say what the flag switches");
  expect(message).toContain("  - flags.checkout.owner: ");
  expect(message).toContain("  - flags.checkout.default: must be true or false (false ships the feature dark)");
  expect(message).toContain('  - flags.checkout.expires: must be a date like "2027-03-31"');
  expect(problems({ flags: { checkout: { ...valid.flags["new-checkout"], expires: "2027-02-30x" } } })).toContain("flags.checkout.expires");
  expect(problems({ flags: { checkout: { ...valid.flags["new-checkout"], expires: "2027-13-45" } } })).toContain("flags.checkout.expires: is not a real date");
  expect(problems({ flags: { checkout: { ...valid.flags["new-checkout"], colour: "red" } } })).toContain('flags.checkout: Unrecognized key: "colour"');
});

test("attributes: names, types, the reserved `enabled`", () => {
  expect(problems({ flags: { c: { ...valid.flags["new-checkout"], attributes: { enabled: true } } } })).toContain(
    'flags.c.attributes: "enabled" is reserved: the flag itself is the on/off switch',
  );
  expect(problems({ flags: { c: { ...valid.flags["new-checkout"], attributes: { "Bad Name": 1 } } } })).toContain("flags.c.attributes.Bad Name");
  expect(problems({ flags: { c: { ...valid.flags["new-checkout"], attributes: { nested: { a: 1 } } } } })).toContain("flags.c.attributes.nested");
  // AWS's schema types a list by its items; an empty one matches both string and number lists, and oneOf refuses it.
  expect(problems({ flags: { c: { ...valid.flags["new-checkout"], attributes: { regions: [] } } } })).toContain("flags.c.attributes.regions");
  expect(problems({ flags: { c: { ...valid.flags["new-checkout"], attributes: { regions: [] } } } })).toContain("is an empty list: give at least one value (AppConfig cannot tell its type)");
});

test("variant rules are parsed as AppConfig rules; names and attributes checked", () => {
  const base = valid.flags["new-checkout"];
  const withVariants = (variants: unknown[]) => ({ flags: { c: { ...base, variants } } });
  const ok = parseFlagsFile(withVariants([{ name: "staff", rule: '(ends_with $email "@example.com")', enabled: true, attributes: { maxItems: 50 } }]));
  expect(ok.flags.c.variants![0].name).toBe("staff");
  expect(problems(withVariants([{ name: "staff", rule: "(split by::$userId pct::120)", enabled: true }]))).toBe(
    'flags.yaml is invalid:\n  - flags.c.variants[0].rule: is not a valid AppConfig rule: split pct:: must be a number from 0 to 100 at character 2 in "(split by::$userId pct::120)"',
  );
  expect(problems(withVariants([{ name: "staff", rule: '(in $userId ["a"]', enabled: true }]))).toContain('unclosed "(in" at character 1');
  expect(problems(withVariants([{ name: "rollout", rule: '(in $userId ["a"])', enabled: true }]))).toContain("flags.c.variants[0].name: is reserved (team, rollout, default are friday's own variants)");
  expect(problems(withVariants([{ name: "x", rule: '(in $userId ["a"])', enabled: true, attributes: { other: 1 } }]))).toContain(
    "flags.c.variants[0].attributes.other: is not declared in the flag's attributes",
  );
  expect(
    problems(withVariants([
      { name: "x", rule: '(in $userId ["a"])', enabled: true },
      { name: "x", rule: '(in $userId ["b"])', enabled: true },
    ])),
  ).toContain('flags.c.variants[1].name: "x" is declared twice');
});

test("a missing or unparsable file says where and how to fix it", () => {
  const dir = mkdtempSync(join(tmpdir(), "flags-"));
  try {
    expect(() => loadFlagsFile(join(dir, "nope.yaml"))).toThrow(`No flags file at ${join(dir, "nope.yaml")}: create it (see docs/runbooks/flags.md) or pass --file.`);
    writeFileSync(join(dir, "bad.yaml"), "flags: [unclosed");
    expect(() => loadFlagsFile(join(dir, "bad.yaml"))).toThrow(/is not valid YAML/);
    writeFileSync(join(dir, "typo.yaml"), "flagz: {}\n");
    expect(() => loadFlagsFile(join(dir, "typo.yaml"))).toThrow(/Unrecognized key: "flagz"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
