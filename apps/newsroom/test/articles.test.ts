import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadInput, isArticleId, newArticleId, parseComment, parseDraft } from '../src/articles';
import { html, raw } from '../src/views/html';

test('article ids sort newest first and are recognised', () => {
  const older = newArticleId(1_700_000_000_000);
  const newer = newArticleId(1_700_000_000_001);
  assert.ok(newer < older, `${newer} sorts before ${older}`);
  assert.ok(isArticleId(older) && isArticleId(newer));
  assert.equal(isArticleId('../../etc'), false);
  assert.equal(isArticleId(`${older}x`), false);
});

test('a draft is trimmed, its tags lower-cased and de-duplicated', () => {
  assert.deepEqual(parseDraft({ title: ' T ', body: 'a\r\nb ', tags: 'World, world ,, Local news' }), {
    title: 'T',
    body: 'a\nb',
    tags: ['world', 'local news'],
  });
});

test('a draft that cannot be stored says what is wrong', () => {
  assert.throws(() => parseDraft({ title: '', body: 'b' }), (e: unknown) => e instanceof BadInput && /title is empty/.test(e.message));
  assert.throws(() => parseDraft({ title: 't', body: '' }), /body is empty/);
  assert.throws(() => parseDraft({ title: 'x'.repeat(201), body: 'b' }), /longer than 200/);
  assert.throws(() => parseDraft({ title: 't', body: 'b', tags: '<script>' }), /tag "<script>"/);
  assert.throws(() => parseDraft({ title: 't', body: 'b', tags: Array.from({ length: 11 }, (_, i) => `t${i}`).join(',') }), /more than 10 tags/);
  assert.throws(() => parseDraft({ title: ['a', 'b'], body: 'b' }), /title is empty/);
});

test('a comment needs text; the name defaults to anonymous', () => {
  assert.equal(parseComment({ text: 'hi' }, 0).name, 'anonymous');
  assert.throws(() => parseComment({ name: 'x', text: '  ' }), /comment is empty/);
});

test('html escapes what it interpolates, except nested templates and raw markup', () => {
  const title = `<img src=x onerror="alert('x')">&`;
  assert.equal(html`<h2>${title}</h2>`.text, '<h2>&#60;img src=x onerror=&#34;alert(&#39;x&#39;)&#34;&#62;&#38;</h2>');
  assert.equal(html`<ul>${['<a>', html`<li>${'&'}</li>`]}</ul>`.text, '<ul>&#60;a&#62;<li>&#38;</li></ul>');
  assert.equal(html`${raw('<b>')}${undefined}${false}${0}`.text, '<b>0');
});
