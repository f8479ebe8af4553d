import { evaluateRule, parseRule, ruleContextKeys, RuleSyntaxError, splitBucket } from "./rules";

const run = (rule: string, context: Record<string, string>) => evaluateRule(parseRule(rule), context);

test("parses and evaluates AppConfig's operators", () => {
  expect(run('(in $userId ["a", "b"])', { userId: "b" })).toBe(true);
  expect(run('(in $userId ["a", "b"])', { userId: "c" })).toBe(false);
  expect(run('(or (eq $group "staff") (in $userId ["a"]))', { group: "staff" })).toBe(true);
  expect(run('(and (gt $age 65) (not (eq $state "Virginia")))', { age: "70", state: "Ohio" })).toBe(true);
  expect(run('(ends_with $email "@example.com")', { email: "x@example.com" })).toBe(true);
  expect(run('(matches in::$greeting pattern::"h.*y")', { greeting: "hey" })).toBe(true);
  expect(run('(exists key::"country")', {})).toBe(false);
  expect(run("(split by::$userId pct::100)", { userId: "u" })).toBe(true);
  expect(run("(split by::$userId pct::0)", { userId: "u" })).toBe(false);
  expect(run("(split by::$userId pct::50)", {})).toBe(false);
});

test("split is stable per value and seed, and raising pct only adds users", () => {
  expect(splitBucket("user-1", "s")).toBe(splitBucket("user-1", "s"));
  const users = Array.from({ length: 1000 }, (_, i) => `u${i}`);
  const at = (pct: number) => new Set(users.filter((u) => run(`(split by::$userId pct::${pct} seed::"f")`, { userId: u })));
  const five = at(5);
  const fifty = at(50);
  expect([...five].every((u) => fifty.has(u))).toBe(true);
  expect(five.size).toBeGreaterThan(20);
  expect(five.size).toBeLessThan(90);
  expect(fifty.size).toBeGreaterThan(430);
  expect(fifty.size).toBeLessThan(570);
});

test("names what is wrong and where", () => {
  const error = (rule: string) => {
    try {
      parseRule(rule);
    } catch (e) {
      expect(e).toBeInstanceOf(RuleSyntaxError);
      return (e as Error).message;
    }
    throw new Error(`no error for ${rule}`);
  };
  expect(error('(inn $userId ["a"])')).toMatch(/^unknown operator "inn" \(use one of eq, gt.*\) at character 2$/);
  expect(error('(in $userId ["a"]')).toBe('unclosed "(in" at character 1');
  expect(error("(split by::$userId pct::150)")).toBe("split pct:: must be a number from 0 to 100 at character 2");
  expect(error("(split pct::5)")).toBe("split needs by:: at character 2");
  expect(error("(eq $a b)")).toBe('unexpected "b" (strings need double quotes, context values a $) at character 8');
  expect(error('(eq $a "b') ).toBe("unterminated string at character 8");
  expect(error('(in $a "b")')).toBe("in takes a [list] as its second operand at character 2");
  expect(error('(eq $a "b") x')).toBe("unexpected text after the rule at character 13");
});

test("lists the context keys a rule reads", () => {
  expect([...ruleContextKeys(parseRule('(or (in $userId ["a"]) (in $group ["g"]) (exists key::"beta"))'))]).toEqual(["userId", "group", "beta"]);
});
