// Anthropic Node SDK (@anthropic-ai/sdk) against /v1/messages: client.messages.create (plain, stream: true iterating
// the events), client.messages.stream(...).finalMessage(), tools answered with tool_use blocks (plain and streamed)
// and the tool_result sent back.
// Usage: node anthropic.mjs <base-url>
import { baseUrl, openai, anthropic, firstModel, run, seen, expect, equal, oneOf, nonEmptyString, positiveInt, eventOrder } from './lib.mjs';

const url = baseUrl();
const client = anthropic(url);
let model;
const maxTokens = 24;
const weatherTool = {
  name: 'get_weather',
  description: 'Current weather of a city',
  input_schema: {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
    required: ['city', 'unit'],
  },
};
const textRequest = () => ({
  model,
  max_tokens: maxTokens,
  system: 'You are terse.',
  messages: [{ role: 'user', content: 'Tell me a short story about a lighthouse keeper.' }],
});
const toolRequest = () => ({
  model,
  max_tokens: 200,
  tools: [weatherTool],
  tool_choice: { type: 'any' },
  messages: [{ role: 'user', content: [{ type: 'text', text: 'What is the weather in Lima?' }] }],
});

// vLLM dumps message_start's message with exclude_unset, so its defaulted `type` ("message") and `role` ("assistant")
// are left out; the SDK's streamed snapshot (finalMessage) is built from that message and lacks them too. The same
// happens against vLLM, so a streamed message may lack them; when present they must be right.
function defaulted(value, expected, what, streamed) {
  if (!(streamed && value === undefined)) {
    equal(value, expected, what);
  }
}

/** A finished text message; returns its text. */
function checkTextMessage(m, what, streamed = false) {
  seen(m);
  defaulted(m.type, 'message', `${what}.type`, streamed);
  defaulted(m.role, 'assistant', `${what}.role`, streamed);
  nonEmptyString(m.id, `${what}.id`);
  equal(m.model, model, `${what}.model`);
  equal(m.content.length, 1, `${what}.content.length`);
  equal(m.content[0].type, 'text', `${what}.content[0].type`);
  nonEmptyString(m.content[0].text, `${what}.content[0].text`);
  oneOf(m.stop_reason, ['end_turn', 'max_tokens', 'stop_sequence'], `${what}.stop_reason`);
  positiveInt(m.usage?.input_tokens, `${what}.usage.input_tokens`);
  positiveInt(m.usage.output_tokens, `${what}.usage.output_tokens`);
  expect(m.usage.output_tokens <= maxTokens, `${what}.usage.output_tokens ${m.usage.output_tokens} exceeds max_tokens ${maxTokens}`);
  if (m.stop_reason === 'max_tokens') {
    equal(m.usage.output_tokens, maxTokens, `${what}.usage.output_tokens when stop_reason is max_tokens`);
  }
  return m.content[0].text;
}

/** A finished tool_use message; returns its first tool_use block. */
function checkToolMessage(m, what, streamed = false) {
  seen(m);
  defaulted(m.type, 'message', `${what}.type`, streamed);
  defaulted(m.role, 'assistant', `${what}.role`, streamed);
  equal(m.stop_reason, 'tool_use', `${what}.stop_reason`);
  const uses = m.content.filter((b) => b.type === 'tool_use');
  expect(uses.length >= 1, `${what}.content should hold a tool_use block`);
  for (const [i, use] of uses.entries()) {
    nonEmptyString(use.id, `${what} tool_use[${i}].id`);
    equal(use.name, 'get_weather', `${what} tool_use[${i}].name`);
    expect(use.input !== null && typeof use.input === 'object', `${what} tool_use[${i}].input should be an object, got ${JSON.stringify(use.input)}`);
    expect(typeof use.input.city === 'string', `${what} tool_use[${i}].input.city should be a string: ${JSON.stringify(use.input)}`);
    oneOf(use.input.unit, ['celsius', 'fahrenheit'], `${what} tool_use[${i}].input.unit`);
  }
  positiveInt(m.usage?.input_tokens, `${what}.usage.input_tokens`);
  positiveInt(m.usage.output_tokens, `${what}.usage.output_tokens`);
  return uses[0];
}

await run('anthropic', [
  ['GET /v1/models (OpenAI SDK models.list)', async () => {
    model = await firstModel(openai(url));
  }],

  ['messages.create', async () => {
    checkTextMessage(await client.messages.create(textRequest()), 'message');
  }],

  ['messages.countTokens', async () => {
    const created = await client.messages.create({ ...toolRequest(), tool_choice: { type: 'auto' } });
    const { max_tokens: _unused, tool_choice: _auto, ...counted } = { ...toolRequest() };
    const count = seen(await client.messages.countTokens(counted));
    positiveInt(count.input_tokens, 'count.input_tokens');
    equal(count.input_tokens, created.usage.input_tokens, 'count.input_tokens (the input_tokens messages.create counted)');
  }],

  ['messages.create with stream: true', async () => {
    const stream = await client.messages.create({ ...textRequest(), stream: true });
    const events = [];
    for await (const event of stream) {
      events.push(seen(event));
    }
    const types = events.map((e) => e.type);
    eventOrder(types,
      ['message_start', 'content_block_start'],
      ['content_block_delta'],
      ['content_block_stop', 'message_delta', 'message_stop'],
      'stream');
    const start = events[0].message;
    defaulted(start.type, 'message', 'message_start: message.type', true);
    defaulted(start.role, 'assistant', 'message_start: message.role', true);
    nonEmptyString(start.id, 'message_start: message.id');
    equal(start.model, model, 'message_start: message.model');
    equal(start.content.length, 0, 'message_start: message.content.length');
    positiveInt(start.usage?.input_tokens, 'message_start: message.usage.input_tokens');
    equal(events[1].index, 0, 'content_block_start: index');
    equal(events[1].content_block.type, 'text', 'content_block_start: content_block.type');
    const deltas = events.filter((e) => e.type === 'content_block_delta');
    deltas.forEach((d, i) => {
      equal(d.index, 0, `content_block_delta #${i}: index`);
      equal(d.delta.type, 'text_delta', `content_block_delta #${i}: delta.type`);
    });
    nonEmptyString(deltas.map((d) => d.delta.text).join(''), 'the streamed text');
    const delta = events.at(-2);
    oneOf(delta.delta.stop_reason, ['end_turn', 'max_tokens', 'stop_sequence'], 'message_delta: delta.stop_reason');
    equal(delta.usage.output_tokens, deltas.length, 'message_delta: usage.output_tokens (one text_delta per token)');
  }],

  ['messages.stream(...).finalMessage()', async () => {
    const stream = client.messages.stream(textRequest());
    let text = '';
    stream.on('text', (delta) => { text += delta; });
    const final = await stream.finalMessage();
    equal(checkTextMessage(final, 'finalMessage', true), text, "finalMessage text (the 'text' listener's text)");
  }],

  ['messages.create with a tool (tool_choice any)', async () => {
    const m = await client.messages.create(toolRequest());
    const use = checkToolMessage(m, 'message');

    // The next turn: the assistant's tool_use content and the user's tool_result.
    const next = await client.messages.create({
      ...textRequest(),
      tools: [weatherTool],
      tool_choice: { type: 'none' },
      messages: [
        ...toolRequest().messages,
        { role: 'assistant', content: m.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '18 degrees, cloudy' }] },
      ],
    });
    checkTextMessage(next, 'message after the tool_result');
  }],

  ['messages.stream(...) with a tool', async () => {
    const stream = client.messages.stream(toolRequest());
    const types = [];
    let json = '';
    stream.on('streamEvent', (e) => types.push(e.type));
    stream.on('inputJson', (partial) => { json += partial; });
    const final = await stream.finalMessage();
    const use = checkToolMessage(final, 'finalMessage', true);
    eventOrder(types,
      ['message_start', 'content_block_start'],
      ['content_block_delta', 'content_block_stop', 'content_block_start'],
      ['content_block_stop', 'message_delta', 'message_stop'],
      'tool stream');
    expect(json.length > 0, 'no input_json_delta reached the inputJson listener');
    if (final.content.length === 1) {
      equal(JSON.stringify(JSON.parse(json)), JSON.stringify(use.input), 'the input_json_delta pieces joined');
    }
  }],
]);
