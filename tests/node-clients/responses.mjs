// OpenAI Node SDK: client.responses.create (plain and stream: true), client.responses.stream(...).finalResponse(),
// function tools answered with a function_call item, and the tool result sent back as input items.
// Usage: node responses.mjs <base-url>
import { baseUrl, openai, firstModel, run, seen, expect, equal, oneOf, nonEmptyString, positiveInt, eventOrder } from './lib.mjs';

const client = openai(baseUrl());
let model;
const maxOutput = 24;
const weatherTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Current weather of a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
    required: ['city', 'unit'],
    additionalProperties: false,
  },
  strict: true,
};
const textRequest = () => ({
  model,
  instructions: 'You are terse.',
  input: 'Tell me a short story about a lighthouse keeper.',
  max_output_tokens: maxOutput,
  seed: 1234,
  metadata: { suite: 'node-sdk' },
});

/** The checks every finished text response passes; returns its text. */
function checkTextResponse(r, what, raw = false) {
  seen(r);
  equal(r.object, 'response', `${what}.object`);
  expect(r.id?.startsWith('resp_'), `${what}.id should start with resp_, got ${JSON.stringify(r.id)}`);
  positiveInt(r.created_at, `${what}.created_at`);
  equal(r.model, model, `${what}.model`);
  oneOf(r.status, ['completed', 'incomplete'], `${what}.status`);
  equal(r.output.length, 1, `${what}.output.length`);
  const item = r.output[0];
  equal(item.type, 'message', `${what}.output[0].type`);
  equal(item.role, 'assistant', `${what}.output[0].role`);
  equal(item.status, 'completed', `${what}.output[0].status`);
  nonEmptyString(item.id, `${what}.output[0].id`);
  equal(item.content.length, 1, `${what}.output[0].content.length`);
  equal(item.content[0].type, 'output_text', `${what}.output[0].content[0].type`);
  nonEmptyString(item.content[0].text, `${what}.output[0].content[0].text`);
  expect(Array.isArray(item.content[0].annotations), `${what}.output[0].content[0].annotations should be an array`);
  // output_text is the SDK's own convenience field, joined from the output_text parts (not on raw stream events).
  if (!raw) {
    equal(r.output_text, item.content[0].text, `${what}.output_text (SDK)`);
  }
  equal(r.instructions, 'You are terse.', `${what}.instructions`);
  equal(r.metadata?.suite, 'node-sdk', `${what}.metadata.suite`);
  equal(r.max_output_tokens, maxOutput, `${what}.max_output_tokens`);
  const u = r.usage;
  positiveInt(u?.input_tokens, `${what}.usage.input_tokens`);
  positiveInt(u.output_tokens, `${what}.usage.output_tokens`);
  equal(u.total_tokens, u.input_tokens + u.output_tokens, `${what}.usage.total_tokens`);
  expect(Number.isInteger(u.input_tokens_details?.cached_tokens), `${what}.usage.input_tokens_details.cached_tokens should be an integer`);
  expect(Number.isInteger(u.output_tokens_details?.reasoning_tokens), `${what}.usage.output_tokens_details.reasoning_tokens should be an integer`);
  expect(u.output_tokens <= maxOutput, `${what}.usage.output_tokens ${u.output_tokens} exceeds max_output_tokens ${maxOutput}`);
  if (r.status === 'incomplete') {
    equal(r.incomplete_details?.reason, 'max_output_tokens', `${what}.incomplete_details.reason`);
    equal(u.output_tokens, maxOutput, `${what}.usage.output_tokens when incomplete`);
  } else {
    equal(r.incomplete_details, null, `${what}.incomplete_details`);
  }
  return item.content[0].text;
}

/** The checks of a finished function_call response; returns the call item. */
function checkToolResponse(r, what, raw = false) {
  seen(r);
  equal(r.object, 'response', `${what}.object`);
  equal(r.status, 'completed', `${what}.status`);
  equal(r.output.length, 1, `${what}.output.length`);
  const call = r.output[0];
  equal(call.type, 'function_call', `${what}.output[0].type`);
  equal(call.name, 'get_weather', `${what}.output[0].name`);
  equal(call.status, 'completed', `${what}.output[0].status`);
  nonEmptyString(call.call_id, `${what}.output[0].call_id`);
  nonEmptyString(call.id, `${what}.output[0].id`);
  let args;
  try {
    args = JSON.parse(call.arguments);
  } catch {
    expect(false, `${what}.output[0].arguments is not JSON: ${JSON.stringify(call.arguments)}`);
  }
  expect(typeof args.city === 'string', `${what} arguments.city should be a string: ${call.arguments}`);
  oneOf(args.unit, ['celsius', 'fahrenheit'], `${what} arguments.unit`);
  if (!raw) {
    equal(r.output_text, '', `${what}.output_text (SDK) of a function_call answer`);
  }
  equal(r.tools?.[0]?.name, 'get_weather', `${what}.tools[0].name`);
  positiveInt(r.usage?.output_tokens, `${what}.usage.output_tokens`);
  equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens, `${what}.usage.total_tokens`);
  return call;
}

/** Sequence numbers run 0, 1, 2, ... in the order the events arrive. */
function checkSequence(events, what) {
  events.forEach((e, i) => equal(e.sequence_number, i, `${what}: sequence_number of event #${i} (${e.type})`));
}

const personFormat = {
  type: 'json_schema',
  name: 'person',
  strict: true,
  schema: {
    type: 'object',
    properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0, maximum: 120 } },
    required: ['name', 'age'],
    additionalProperties: false,
  },
};

/** output_parsed: the SDK's parse of the output_text against text.format. */
function checkPerson(r, what) {
  seen(r);
  equal(r.status, 'completed', `${what}.status`);
  const person = r.output_parsed;
  expect(person !== null && typeof person === 'object', `${what}.output_parsed should be the parsed object, got ${JSON.stringify(person)}`);
  equal(JSON.stringify(Object.keys(person).sort()), '["age","name"]', `${what}.output_parsed keys`);
  expect(typeof person.name === 'string', `${what}.output_parsed.name should be a string`);
  expect(Number.isInteger(person.age) && person.age >= 0 && person.age <= 120, `${what}.output_parsed.age should be 0..120, got ${person.age}`);
  equal(r.text?.format?.type, 'json_schema', `${what}.text.format.type (echoed)`);
  return person;
}

let plainText;

await run('responses', [
  ['GET /v1/models (models.list)', async () => {
    model = await firstModel(client);
  }],

  ['responses.create', async () => {
    plainText = checkTextResponse(await client.responses.create(textRequest()), 'response');
  }],

  ['responses.create with stream: true', async () => {
    const stream = await client.responses.create({ ...textRequest(), stream: true });
    const events = [];
    for await (const event of stream) {
      events.push(seen(event));
    }
    const types = events.map((e) => e.type);
    eventOrder(types,
      ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added'],
      ['response.output_text.delta'],
      ['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed'],
      'stream');
    checkSequence(events, 'stream');
    equal(events[0].response.status, 'in_progress', 'response.created: response.status');
    equal(events[0].response.id, events.at(-1).response.id, 'response.completed: response.id (same as created)');
    const deltas = events.filter((e) => e.type === 'response.output_text.delta');
    const itemId = events[2].item.id;
    nonEmptyString(itemId, 'output_item.added: item.id');
    for (const d of deltas) {
      equal(d.item_id, itemId, 'output_text.delta: item_id');
      equal(d.output_index, 0, 'output_text.delta: output_index');
      equal(d.content_index, 0, 'output_text.delta: content_index');
    }
    const streamed = deltas.map((d) => d.delta).join('');
    equal(events.find((e) => e.type === 'response.output_text.done').text, streamed, 'output_text.done: text (the deltas joined)');
    const completed = events.at(-1).response;
    equal(checkTextResponse(completed, 'response.completed: response', true), streamed, 'response.completed text (the deltas joined)');
    equal(streamed, plainText, 'streamed text (the same seed as the plain request)');
    equal(completed.usage.output_tokens, deltas.length, 'response.completed usage.output_tokens (one delta per token)');
  }],

  ['responses.stream(...).finalResponse()', async () => {
    const stream = client.responses.stream(textRequest());
    let deltas = '';
    stream.on('response.output_text.delta', (e) => { deltas += e.delta; });
    const final = await stream.finalResponse();
    equal(checkTextResponse(final, 'finalResponse'), plainText, 'finalResponse text');
    equal(deltas, plainText, "the 'response.output_text.delta' listener's text");
  }],

  ['responses.parse with text.format json_schema', async () => {
    const r = await client.responses.parse({ model, input: 'Describe a person.', text: { format: personFormat }, seed: 8 });
    const person = checkPerson(r, 'response');
    equal(JSON.stringify(JSON.parse(r.output_text)), JSON.stringify(person), 'output_text parsed');
  }],

  ['responses.stream(...) with text.format json_schema', async () => {
    const stream = client.responses.stream({ model, input: 'Describe a person.', text: { format: personFormat }, seed: 8 });
    const final = await stream.finalResponse();
    checkPerson(final, 'finalResponse');
  }],

  ['responses.create with a function tool (tool_choice required)', async () => {
    const r = await client.responses.create({ model, input: 'What is the weather in Paris?', tools: [weatherTool], tool_choice: 'required', seed: 5 });
    const call = checkToolResponse(r, 'response');

    // The next turn as the SDK's docs write it: the previous output items, then the function's result.
    const next = await client.responses.create({
      model,
      input: [
        { role: 'user', content: 'What is the weather in Paris?' },
        ...r.output,
        { type: 'function_call_output', call_id: call.call_id, output: JSON.stringify({ temperature: 21, unit: 'celsius' }) },
      ],
      tools: [weatherTool],
      tool_choice: 'none',
      max_output_tokens: maxOutput,
      instructions: 'You are terse.',
      metadata: { suite: 'node-sdk' },
    });
    checkTextResponse(next, 'response after function_call_output');
    expect(next.usage.input_tokens > r.usage.input_tokens, `the tool turn's input_tokens ${next.usage.input_tokens} should exceed the first turn's ${r.usage.input_tokens}`);
  }],

  ['responses.create with a function tool, stream: true', async () => {
    const stream = await client.responses.create({ model, input: 'What is the weather in Paris?', tools: [weatherTool], tool_choice: 'required', seed: 5, stream: true });
    const events = [];
    for await (const event of stream) {
      events.push(seen(event));
    }
    const types = events.map((e) => e.type);
    eventOrder(types,
      ['response.created', 'response.in_progress', 'response.output_item.added'],
      ['response.function_call_arguments.delta'],
      ['response.function_call_arguments.done', 'response.output_item.done', 'response.completed'],
      'tool stream');
    checkSequence(events, 'tool stream');
    equal(events[2].item.type, 'function_call', 'output_item.added: item.type');
    equal(events[2].item.name, 'get_weather', 'output_item.added: item.name');
    const args = events.filter((e) => e.type === 'response.function_call_arguments.delta').map((e) => e.delta).join('');
    equal(events.find((e) => e.type === 'response.function_call_arguments.done').arguments, args, 'function_call_arguments.done: arguments (the deltas joined)');
    const call = checkToolResponse(events.at(-1).response, 'response.completed: response', true);
    equal(call.arguments, args, 'response.completed function_call arguments');
    equal(events.find((e) => e.type === 'response.output_item.done').item.arguments, args, 'output_item.done: item.arguments');
  }],

  ['responses.stream(...) with a function tool', async () => {
    const stream = client.responses.stream({ model, input: 'What is the weather in Paris?', tools: [weatherTool], tool_choice: 'required', seed: 5 });
    let args = '';
    stream.on('response.function_call_arguments.delta', (e) => { args += e.delta; });
    const final = await stream.finalResponse();
    const call = checkToolResponse(final, 'finalResponse');
    equal(call.arguments, args, "the 'response.function_call_arguments.delta' listener's arguments");
  }],
]);
