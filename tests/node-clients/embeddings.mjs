// OpenAI Node SDK: client.embeddings.create with encoding_format float, base64, and none given (the Node SDK then
// asks for base64 and decodes it to floats itself), dimensions, several inputs.
// Usage: node embeddings.mjs <base-url>
import { baseUrl, openai, firstModel, run, seen, expect, equal, positiveInt } from './lib.mjs';

const client = openai(baseUrl());
let model;
const input = ['The food was delicious', 'The waiter was friendly'];
let floats;

function checkList(r, what, count) {
  seen(r);
  equal(r.object, 'list', `${what}.object`);
  equal(r.model, model, `${what}.model`);
  equal(r.data.length, count, `${what}.data.length`);
  r.data.forEach((d, i) => {
    equal(d.object, 'embedding', `${what}.data[${i}].object`);
    equal(d.index, i, `${what}.data[${i}].index`);
  });
  positiveInt(r.usage?.prompt_tokens, `${what}.usage.prompt_tokens`);
  equal(r.usage.total_tokens, r.usage.prompt_tokens, `${what}.usage.total_tokens`);
}

function checkVector(v, what, dimensions) {
  equal(v.length, dimensions, `${what}.length`);
  let norm = 0;
  for (const x of v) {
    expect(typeof x === 'number' && Number.isFinite(x), `${what} holds a non-number ${x}`);
    norm += x * x;
  }
  expect(Math.abs(Math.sqrt(norm) - 1) < 1e-3, `${what} should have unit length, has ${Math.sqrt(norm)}`);
}

function sameVector(a, b, what) {
  equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    expect(Math.fround(a[i]) === Math.fround(b[i]), `${what}: element ${i} differs: ${a[i]} vs ${b[i]}`);
  }
}

await run('embeddings', [
  ['GET /v1/models (models.list)', async () => {
    model = await firstModel(client);
  }],

  ["embeddings.create with encoding_format 'float'", async () => {
    const r = await client.embeddings.create({ model, input, encoding_format: 'float' });
    checkList(r, 'embeddings', 2);
    r.data.forEach((d, i) => expect(Array.isArray(d.embedding), `data[${i}].embedding should be an array of floats`));
    const dimensions = r.data[0].embedding.length;
    positiveInt(dimensions, 'the default dimensions');
    r.data.forEach((d, i) => checkVector(d.embedding, `data[${i}].embedding`, dimensions));
    expect(r.data[0].embedding.some((x, i) => x !== r.data[1].embedding[i]), 'two different inputs got the same vector');
    floats = r.data.map((d) => d.embedding);
  }],

  ["embeddings.create with encoding_format 'base64'", async () => {
    const r = await client.embeddings.create({ model, input, encoding_format: 'base64' });
    checkList(r, 'embeddings', 2);
    r.data.forEach((d, i) => {
      expect(typeof d.embedding === 'string', `data[${i}].embedding should be a base64 string, got ${typeof d.embedding}`);
      const bytes = Buffer.from(d.embedding, 'base64');
      equal(bytes.length, floats[i].length * 4, `data[${i}].embedding bytes (float32 per dimension)`);
      const decoded = Array.from({ length: bytes.length / 4 }, (_, k) => bytes.readFloatLE(k * 4));
      sameVector(decoded, floats[i], `data[${i}] base64 vs float`);
    });
  }],

  ['embeddings.create without encoding_format (the SDK asks for base64 and decodes it)', async () => {
    const r = await client.embeddings.create({ model, input });
    checkList(r, 'embeddings', 2);
    r.data.forEach((d, i) => {
      expect(typeof d.embedding !== 'string', `data[${i}].embedding was left as a string: the SDK did not decode it`);
      const v = Array.from(d.embedding);
      checkVector(v, `data[${i}].embedding`, floats[i].length);
      sameVector(v, floats[i], `data[${i}] SDK-decoded vs float`);
    });
  }],

  ['embeddings.create with dimensions: 8 and one string input', async () => {
    const r = await client.embeddings.create({ model, input: input[0], dimensions: 8 });
    checkList(r, 'embeddings', 1);
    checkVector(Array.from(r.data[0].embedding), 'data[0].embedding', 8);
    const again = await client.embeddings.create({ model, input: input[0], dimensions: 8 });
    sameVector(Array.from(again.data[0].embedding), Array.from(r.data[0].embedding), 'the same text twice');
  }],
]);
