#!/usr/bin/env node
// A stand-in for the Pulumi CLI in tests (no Pulumi CLI exists here): it appends its arguments to
// FAKE_PULUMI_LOG and answers from the scenario file FAKE_PULUMI_SCENARIO, keyed by the command
// ("login", "stack select", "stack init", "config set", "preview", "up"): {code, stdout, stderr}.
const { appendFileSync, readFileSync } = require("node:fs");
const args = process.argv.slice(2);
appendFileSync(process.env.FAKE_PULUMI_LOG, `${JSON.stringify({ args, release: process.env.FRIDAY_RELEASE ?? null, bootstrap: process.env.FRIDAY_BOOTSTRAP ?? null })}\n`);
const scenario = JSON.parse(readFileSync(process.env.FAKE_PULUMI_SCENARIO, "utf8"));
const key = ["stack", "config"].includes(args[0]) ? `${args[0]} ${args[1]}` : args[0];
const answer = scenario[key] ?? { code: 0 };
if (answer.stdout) process.stdout.write(answer.stdout);
if (answer.stderr) process.stderr.write(answer.stderr);
process.exitCode = answer.code ?? 0;
