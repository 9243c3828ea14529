// OpenAI Node SDK: client.chat.completions.create (plain; stream: true with stream_options.include_usage; function
// tools, plain and streamed), client.chat.completions.stream(...).finalChatCompletion().
// Usage: node chat.mjs <base-url>
import { baseUrl, openai, firstModel, run, seen, expect, equal, oneOf, nonEmptyString, positiveInt } from './lib.mjs';

const client = openai(baseUrl());
let model;
const maxTokens = 24;
const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather of a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1, maximum: 7 } },
      required: ['city', 'days'],
    },
  },
};
const textRequest = () => ({
  model,
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Tell me a short story about a lighthouse keeper.' },
  ],
  max_tokens: maxTokens,
  seed: 99,
});
const toolRequest = () => ({
  model,
  messages: [{ role: 'user', content: 'What is the weather in Oslo this week?' }],
  tools: [weatherTool],
  tool_choice: 'required',
  seed: 3,
});

function checkUsage(u, what, limit) {
  positiveInt(u?.prompt_tokens, `${what}.prompt_tokens`);
  positiveInt(u.completion_tokens, `${what}.completion_tokens`);
  equal(u.total_tokens, u.prompt_tokens + u.completion_tokens, `${what}.total_tokens`);
  if (limit !== undefined) {
    expect(u.completion_tokens <= limit, `${what}.completion_tokens ${u.completion_tokens} exceeds max_tokens ${limit}`);
  }
}

/** A finished text completion; returns its text. */
function checkTextCompletion(c, what) {
  seen(c);
  equal(c.object, 'chat.completion', `${what}.object`);
  expect(c.id?.startsWith('chatcmpl-'), `${what}.id should start with chatcmpl-, got ${JSON.stringify(c.id)}`);
  positiveInt(c.created, `${what}.created`);
  equal(c.model, model, `${what}.model`);
  equal(c.choices.length, 1, `${what}.choices.length`);
  const choice = c.choices[0];
  equal(choice.index, 0, `${what}.choices[0].index`);
  equal(choice.message.role, 'assistant', `${what}.choices[0].message.role`);
  nonEmptyString(choice.message.content, `${what}.choices[0].message.content`);
  oneOf(choice.finish_reason, ['stop', 'length'], `${what}.choices[0].finish_reason`);
  checkUsage(c.usage, `${what}.usage`, maxTokens);
  if (choice.finish_reason === 'length') {
    equal(c.usage.completion_tokens, maxTokens, `${what}.usage.completion_tokens when finish_reason is length`);
  }
  return choice.message.content;
}

/** A finished tool-call completion; returns its first call. */
function checkToolCompletion(c, what) {
  seen(c);
  equal(c.object, 'chat.completion', `${what}.object`);
  const choice = c.choices[0];
  equal(choice.finish_reason, 'tool_calls', `${what}.choices[0].finish_reason`);
  const calls = choice.message.tool_calls;
  expect(Array.isArray(calls) && calls.length >= 1, `${what}.choices[0].message.tool_calls should hold a call`);
  for (const [i, call] of calls.entries()) {
    equal(call.type, 'function', `${what} tool_calls[${i}].type`);
    nonEmptyString(call.id, `${what} tool_calls[${i}].id`);
    equal(call.function.name, 'get_weather', `${what} tool_calls[${i}].function.name`);
    let args;
    try {
      args = JSON.parse(call.function.arguments);
    } catch {
      expect(false, `${what} tool_calls[${i}].function.arguments is not JSON: ${JSON.stringify(call.function.arguments)}`);
    }
    expect(typeof args.city === 'string', `${what} tool_calls[${i}] arguments.city should be a string: ${call.function.arguments}`);
    expect(Number.isInteger(args.days) && args.days >= 1 && args.days <= 7, `${what} tool_calls[${i}] arguments.days should be 1..7: ${call.function.arguments}`);
  }
  checkUsage(c.usage, `${what}.usage`);
  return calls[0];
}

let plainText;
let plainUsage;
let plainFinish;

await run('chat', [
  ['GET /v1/models (models.list)', async () => {
    model = await firstModel(client);
  }],

  ['chat.completions.create', async () => {
    const c = await client.chat.completions.create(textRequest());
    plainText = checkTextCompletion(c, 'completion');
    plainUsage = c.usage;
    plainFinish = c.choices[0].finish_reason;
  }],

  ['chat.completions.create with stream: true, stream_options.include_usage', async () => {
    const stream = await client.chat.completions.create({ ...textRequest(), stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) {
      chunks.push(seen(chunk));
    }
    expect(chunks.length >= 3, `expected a role chunk, content chunks and a usage chunk, got ${chunks.length} chunks`);
    const id = chunks[0].id;
    for (const [i, chunk] of chunks.entries()) {
      equal(chunk.object, 'chat.completion.chunk', `chunk #${i}.object`);
      equal(chunk.id, id, `chunk #${i}.id`);
      equal(chunk.model, model, `chunk #${i}.model`);
    }
    equal(chunks[0].choices[0].delta.role, 'assistant', 'first chunk: delta.role');
    const last = chunks.at(-1);
    equal(last.choices.length, 0, 'usage chunk: choices.length');
    checkUsage(last.usage, 'usage chunk: usage', maxTokens);
    for (const chunk of chunks.slice(0, -1)) {
      expect(chunk.usage == null, `only the last chunk carries usage, got ${JSON.stringify(chunk)}`);
    }
    const finishing = chunks.filter((c) => c.choices[0]?.finish_reason != null);
    equal(finishing.length, 1, 'chunks with a finish_reason');
    equal(finishing[0].choices[0].finish_reason, plainFinish, 'streamed finish_reason (the same seed as the plain request)');
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    equal(text, plainText, 'streamed text (the same seed as the plain request)');
    equal(last.usage.completion_tokens, plainUsage.completion_tokens, 'streamed usage.completion_tokens');
    equal(last.usage.prompt_tokens, plainUsage.prompt_tokens, 'streamed usage.prompt_tokens');
  }],

  ['chat.completions.stream(...).finalChatCompletion()', async () => {
    const stream = client.chat.completions.stream({ ...textRequest(), stream_options: { include_usage: true } });
    let deltas = '';
    stream.on('content.delta', (e) => { deltas += e.delta; });
    const final = await stream.finalChatCompletion();
    equal(checkTextCompletion(final, 'finalChatCompletion'), plainText, 'finalChatCompletion text');
    equal(deltas, plainText, "the 'content.delta' listener's text");
  }],

  ['chat.completions.create with a function tool (tool_choice required)', async () => {
    const c = await client.chat.completions.create(toolRequest());
    const call = checkToolCompletion(c, 'completion');

    // The next turn: the assistant's tool_calls message and the tool's answer.
    const next = await client.chat.completions.create({
      ...textRequest(),
      messages: [
        ...toolRequest().messages,
        c.choices[0].message,
        { role: 'tool', tool_call_id: call.id, content: JSON.stringify({ forecast: 'sunny' }) },
      ],
      tools: [weatherTool],
      tool_choice: 'none',
    });
    checkTextCompletion(next, 'completion after the tool message');
  }],

  ['chat.completions.create with a function tool, stream: true', async () => {
    const plain = await client.chat.completions.create(toolRequest());
    const stream = await client.chat.completions.create({ ...toolRequest(), stream: true, stream_options: { include_usage: true } });
    const calls = [];
    let finish;
    let usage;
    for await (const chunk of stream) {
      seen(chunk);
      for (const delta of chunk.choices[0]?.delta?.tool_calls ?? []) {
        expect(Number.isInteger(delta.index), `tool_calls delta without an index: ${JSON.stringify(delta)}`);
        if (delta.id) {
          equal(calls[delta.index], undefined, `a second header for tool call ${delta.index}`);
          equal(delta.type, 'function', 'tool call header: type');
          calls[delta.index] = { id: delta.id, name: delta.function.name, arguments: delta.function.arguments ?? '' };
        } else {
          expect(calls[delta.index] !== undefined, `arguments for tool call ${delta.index} before its header`);
          calls[delta.index].arguments += delta.function?.arguments ?? '';
        }
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    equal(finish, 'tool_calls', 'streamed finish_reason');
    checkUsage(usage, 'streamed usage');
    const expected = plain.choices[0].message.tool_calls;
    equal(calls.length, expected.length, 'streamed tool call count (the same seed as the plain request)');
    calls.forEach((c, i) => {
      equal(c.name, expected[i].function.name, `streamed tool call ${i} name`);
      equal(c.arguments, expected[i].function.arguments, `streamed tool call ${i} arguments`);
    });
  }],

  ['chat.completions.stream(...) with a function tool', async () => {
    const stream = client.chat.completions.stream({ ...toolRequest(), stream_options: { include_usage: true } });
    const done = [];
    stream.on('tool_calls.function.arguments.done', (e) => done.push(e));
    const final = await stream.finalChatCompletion();
    const call = checkToolCompletion(final, 'finalChatCompletion');
    expect(done.length >= 1, "no 'tool_calls.function.arguments.done' event");
    equal(done[0].name, call.function.name, "'tool_calls.function.arguments.done' name");
    equal(done[0].arguments, call.function.arguments, "'tool_calls.function.arguments.done' arguments");
  }],
]);
