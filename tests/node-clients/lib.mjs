// Shared pieces of the SDK scripts: the base URL argument, the clients, named steps and shape checks.
// Every script runs `node <script>.mjs <base-url>` (e.g. http://127.0.0.1:8000), prints one line per step
// and exits 1 with the failing step, the mismatch and the last object the SDK returned.
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

/** A wire mismatch: what was expected and what the SDK handed back. */
export class Mismatch extends Error {}

let lastSeen;

/** Remembers the object a check looks at, so a failure can show it. */
export function seen(value) {
  lastSeen = value;
  return value;
}

export function expect(condition, message) {
  if (!condition) {
    throw new Mismatch(message);
  }
}

export function equal(actual, expected, what) {
  if (actual !== expected) {
    throw new Mismatch(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

export function oneOf(actual, allowed, what) {
  if (!allowed.includes(actual)) {
    throw new Mismatch(`${what}: expected one of ${JSON.stringify(allowed)}, got ${JSON.stringify(actual)}`);
  }
}

export function nonEmptyString(value, what) {
  expect(typeof value === 'string' && value.length > 0, `${what}: expected a non-empty string, got ${JSON.stringify(value)}`);
}

export function positiveInt(value, what) {
  expect(Number.isInteger(value) && value > 0, `${what}: expected a positive integer, got ${JSON.stringify(value)}`);
}

/** Checks that `types` starts with `head`, ends with `tail`, and has only `middle` types (at least one) between them. */
export function eventOrder(types, head, middle, tail, what) {
  const shown = `${what}: events ${JSON.stringify(types)}`;
  expect(types.length >= head.length + tail.length + 1, `${shown} are too few`);
  head.forEach((t, i) => expect(types[i] === t, `${shown}: #${i} should be ${t}`));
  tail.forEach((t, i) => expect(types[types.length - tail.length + i] === t, `${shown}: #${types.length - tail.length + i} should be ${t}`));
  for (let i = head.length; i < types.length - tail.length; i++) {
    expect(middle.includes(types[i]), `${shown}: #${i} should be one of ${JSON.stringify(middle)}`);
  }
}

/** The base URL from the command line (no trailing slash). */
export function baseUrl() {
  const url = process.argv[2];
  if (!url || !/^https?:\/\//.test(url)) {
    console.error(`usage: node ${process.argv[1]} <base-url, e.g. http://127.0.0.1:8000>`);
    process.exit(2);
  }
  return url.replace(/\/+$/, '');
}

export function openai(url) {
  return new OpenAI({ apiKey: 'sk-unused', baseURL: `${url}/v1`, maxRetries: 0, timeout: 60_000 });
}

export function anthropic(url) {
  return new Anthropic({ apiKey: 'unused', baseURL: url, maxRetries: 0, timeout: 60_000 });
}

/** The served model: the first entry of GET /v1/models, read through the OpenAI SDK's paginated list. */
export async function firstModel(client) {
  const models = [];
  for await (const model of client.models.list()) {
    models.push(model);
  }
  seen(models);
  expect(models.length > 0, 'GET /v1/models listed no model');
  equal(models[0].object, 'model', 'models[0].object');
  nonEmptyString(models[0].id, 'models[0].id');
  return models[0].id;
}

/** Runs the named steps in order; the first failure ends the process with exit code 1. */
export async function run(script, steps) {
  for (const [name, step] of steps) {
    lastSeen = undefined;
    try {
      await step();
      console.log(`ok   ${script}: ${name}`);
    } catch (error) {
      const kind = error instanceof Mismatch ? 'wire mismatch' : `${error?.constructor?.name ?? 'error'} thrown`;
      console.error(`FAIL ${script}: ${name}: ${kind}: ${error?.message ?? error}`);
      if (error?.status !== undefined) {
        console.error(`  HTTP status ${error.status}, body ${JSON.stringify(error.error ?? null)}`);
      }
      if (!(error instanceof Mismatch) && error?.stack) {
        console.error(error.stack);
      }
      if (lastSeen !== undefined) {
        console.error(`  last object: ${JSON.stringify(lastSeen, null, 1)?.slice(0, 4000)}`);
      }
      process.exit(1);
    }
  }
  console.log(`${script}: all ${steps.length} steps passed`);
}
