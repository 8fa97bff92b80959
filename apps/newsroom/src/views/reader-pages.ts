import type { Article, Comment } from '../articles';
import { type Html, html } from './html';

export function articleItem(a: Article): Html {
  return html`<li data-id="${a.id}" data-revision="${a.revision}"><a class="title" href="/articles/${a.id}">${a.title}</a>
<div class="meta">by ${a.author} · ${a.updatedAt.slice(0, 16).replace('T', ' ')} UTC · ${a.tags.map((t) => html`<a class="tag" href="/tags/${encodeURIComponent(t)}">${t}</a>`)}</div></li>`;
}

/** Tags of the listed articles, most used first. */
function tagCloud(articles: Article[]): Html {
  const counts = new Map<string, number>();
  for (const a of articles) for (const t of a.tags) counts.set(t, (counts.get(t) ?? 0) + 1);
  const tags = [...counts].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]));
  if (tags.length === 0) return html``;
  return html`<p class="tags">By tag: ${tags.map(([t, n]) => html`<a class="tag" href="/tags/${encodeURIComponent(t)}">${t} (${n})</a>`)}</p>`;
}

/** The front page; `live` makes it listen for changes (the list with id "articles" is kept up to date). */
export function frontPage(articles: Article[], heading: string, live: boolean, tag?: string): Html {
  return html`<h2>${heading}</h2>
${tag ? '' : tagCloud(articles)}
<p class="meta" id="live-status">${live ? 'live: new and edited articles appear here by themselves' : ''}</p>
<ul class="articles" id="articles" ${tag ? html`data-tag="${tag}"` : ''}>${articles.map(articleItem)}</ul>
${articles.length === 0 ? html`<p id="empty">Nothing published yet.</p>` : ''}`;
}

export function articlePage(a: Article, comments: Comment[], error?: string): Html {
  return html`<article id="article" data-id="${a.id}" data-revision="${a.revision}">
<h2>${a.title}</h2>
<div class="meta">by ${a.author}, ${a.createdAt.slice(0, 16).replace('T', ' ')} UTC${
    a.updatedAt !== a.createdAt ? html`; edited by ${a.updatedBy} ${a.updatedAt.slice(0, 16).replace('T', ' ')} UTC` : ''
  } · revision ${a.revision} · ${a.tags.map((t) => html`<a class="tag" href="/tags/${encodeURIComponent(t)}">${t}</a>`)}</div>
<div class="body">${a.body.split(/\n{2,}/).map((p) => html`<p>${p}</p>`)}</div>
</article>
<p><a href="/editor/articles/${a.id}/edit">edit (editors)</a></p>
<section id="comments"><h3>Comments (${comments.length})</h3>
<ul>${comments.map((c) => html`<li><strong>${c.name}</strong> <span class="meta">${c.at.slice(0, 16).replace('T', ' ')} UTC</span><br>${c.text}</li>`)}</ul>
${error ? html`<p class="error">${error}</p>` : ''}
<form class="stack" method="post" action="/articles/${a.id}/comments">
<input name="name" placeholder="your name" maxlength="60"><textarea name="text" placeholder="your comment" required maxlength="2000" style="min-height:4rem"></textarea>
<button>Comment</button></form></section>`;
}

export function messagePage(heading: string, message: string): Html {
  return html`<h2>${heading}</h2><p>${message}</p><p><a href="/">front page</a></p>`;
}
