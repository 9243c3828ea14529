// OpenAI Node SDK: client.completions.create (plain, several prompts with n, stream: true with
// stream_options.include_usage, logprobs).
// Usage: node completions.mjs <base-url>
import { baseUrl, openai, firstModel, run, seen, expect, equal, oneOf, nonEmptyString, positiveInt } from './lib.mjs';

const client = openai(baseUrl());
let model;
const maxTokens = 16;
const request = () => ({ model, prompt: 'Once upon a time, in a quiet harbour town,', max_tokens: maxTokens, seed: 11 });

function checkUsage(u, what, limit) {
  positiveInt(u?.prompt_tokens, `${what}.prompt_tokens`);
  positiveInt(u.completion_tokens, `${what}.completion_tokens`);
  equal(u.total_tokens, u.prompt_tokens + u.completion_tokens, `${what}.total_tokens`);
  expect(u.completion_tokens <= limit, `${what}.completion_tokens ${u.completion_tokens} exceeds ${limit}`);
}

function checkCompletion(c, what, choices) {
  seen(c);
  equal(c.object, 'text_completion', `${what}.object`);
  expect(c.id?.startsWith('cmpl-'), `${what}.id should start with cmpl-, got ${JSON.stringify(c.id)}`);
  positiveInt(c.created, `${what}.created`);
  equal(c.model, model, `${what}.model`);
  equal(c.choices.length, choices, `${what}.choices.length`);
  c.choices.forEach((choice, i) => {
    equal(choice.index, i, `${what}.choices[${i}].index`);
    nonEmptyString(choice.text, `${what}.choices[${i}].text`);
    oneOf(choice.finish_reason, ['stop', 'length'], `${what}.choices[${i}].finish_reason`);
  });
  checkUsage(c.usage, `${what}.usage`, maxTokens * choices);
}

let plain;

await run('completions', [
  ['GET /v1/models (models.list)', async () => {
    model = await firstModel(client);
  }],

  ['completions.create', async () => {
    plain = await client.completions.create(request());
    checkCompletion(plain, 'completion', 1);
    if (plain.choices[0].finish_reason === 'length') {
      equal(plain.usage.completion_tokens, maxTokens, 'usage.completion_tokens when finish_reason is length');
    }
  }],

  ['completions.create with two prompts and n: 2', async () => {
    const c = await client.completions.create({ ...request(), prompt: ['The sea was calm', 'A storm was coming'], n: 2, seed: undefined });
    checkCompletion(c, 'completion', 4);
  }],

  ['completions.create with stream: true, stream_options.include_usage', async () => {
    const stream = await client.completions.create({ ...request(), stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) {
      chunks.push(seen(chunk));
    }
    expect(chunks.length >= 2, `expected text chunks and a usage chunk, got ${chunks.length}`);
    for (const [i, chunk] of chunks.entries()) {
      equal(chunk.object, 'text_completion', `chunk #${i}.object`);
      equal(chunk.id, chunks[0].id, `chunk #${i}.id`);
    }
    const last = chunks.at(-1);
    equal(last.choices.length, 0, 'usage chunk: choices.length');
    checkUsage(last.usage, 'usage chunk: usage', maxTokens);
    const finishing = chunks.filter((c) => c.choices[0]?.finish_reason != null);
    equal(finishing.length, 1, 'chunks with a finish_reason');
    equal(finishing[0].choices[0].finish_reason, plain.choices[0].finish_reason, 'streamed finish_reason (the same seed as the plain request)');
    equal(chunks.map((c) => c.choices[0]?.text ?? '').join(''), plain.choices[0].text, 'streamed text (the same seed as the plain request)');
    equal(last.usage.completion_tokens, plain.usage.completion_tokens, 'streamed usage.completion_tokens');
  }],

  ['completions.create with logprobs: 2', async () => {
    const c = await client.completions.create({ ...request(), logprobs: 2 });
    checkCompletion(c, 'completion', 1);
    const lp = c.choices[0].logprobs;
    seen(lp);
    const n = c.usage.completion_tokens;
    equal(lp?.tokens?.length, n, 'logprobs.tokens.length (one per completion token)');
    equal(lp.token_logprobs.length, n, 'logprobs.token_logprobs.length');
    equal(lp.text_offset.length, n, 'logprobs.text_offset.length');
    equal(lp.top_logprobs.length, n, 'logprobs.top_logprobs.length');
    equal(lp.tokens.join(''), c.choices[0].text, 'logprobs.tokens joined');
    lp.token_logprobs.forEach((v, i) => expect(typeof v === 'number' && v <= 0, `token_logprobs[${i}] should be a number <= 0, got ${v}`));
    lp.top_logprobs.forEach((top, i) => expect(Object.keys(top).length >= 1 && Object.keys(top).length <= 3, `top_logprobs[${i}] should hold 1..3 entries, got ${JSON.stringify(top)}`));
  }],
]);
