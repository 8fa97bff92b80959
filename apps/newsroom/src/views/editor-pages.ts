import type { Article, Draft } from '../articles';
import { type Html, html } from './html';

export function loginPage(error?: string): Html {
  return html`<h2>Editors sign in</h2>
${error ? html`<p class="error">${error}</p>` : ''}
<form class="stack" method="post" action="/login"><label>Your name <input name="name" required maxlength="60" autofocus></label><button>Sign in</button></form>`;
}

export function deskPage(editor: string, articles: Article[]): Html {
  const mine = articles.filter((a) => a.author === editor || a.updatedBy === editor);
  return html`<h2>${editor}'s desk</h2>
<p><a href="/editor/new" id="new-article">Write a new article</a></p>
<h3>Your latest articles</h3>
<ul class="articles">${mine.map(
    (a) => html`<li data-id="${a.id}"><a href="/articles/${a.id}">${a.title}</a> · <a href="/editor/articles/${a.id}/edit">edit</a> <span class="meta">revision ${a.revision}</span></li>`,
  )}</ul>${mine.length === 0 ? html`<p>None yet.</p>` : ''}`;
}

/** The article form: new (no `article`) or an edit based on `revision`. */
export function articleForm(draft: Draft, article?: { id: string; revision: number }, error?: string): Html {
  const action = article ? `/editor/articles/${article.id}` : '/editor/articles';
  return html`<h2>${article ? 'Edit article' : 'New article'}</h2>
${error ? html`<p class="error">${error}</p>` : ''}
<form class="stack" method="post" action="${action}" id="article-form">
${article ? html`<input type="hidden" name="revision" value="${article.revision}"><p class="meta">editing revision ${article.revision}</p>` : ''}
<label>Title <input name="title" value="${draft.title}" required maxlength="200"></label>
<label>Body <textarea name="body" required>${draft.body}</textarea></label>
<label>Tags (comma-separated) <input name="tags" value="${draft.tags.join(', ')}"></label>
<button id="save">${article ? 'Save' : 'Publish'}</button></form>`;
}

/**
 * Someone saved the article after this editor loaded it: show both versions.
 * "Keep mine" saves the editor's text against the current revision (a
 * deliberate overwrite); "take theirs" drops it.
 */
export function conflictPage(mine: Draft, current: Article | undefined, id: string): Html {
  return html`<h2 id="conflict">Edit conflict</h2>
<p>${
    current
      ? html`<strong>${current.updatedBy}</strong> saved this article (now at revision ${current.revision}) after you opened it. Nothing of yours was written.`
      : 'The article was removed after you opened it. Nothing of yours was written.'
  }</p>
<div class="versions"><section id="mine"><h3>Your version</h3><strong>${mine.title}</strong>\n\n${mine.body}\n\ntags: ${mine.tags.join(', ')}</section>
<section id="theirs"><h3>Current version</h3>${current ? html`<strong>${current.title}</strong>\n\n${current.body}\n\ntags: ${current.tags.join(', ')}` : '(removed)'}</section></div>
${
  current
    ? html`<form method="post" action="/editor/articles/${id}"><input type="hidden" name="revision" value="${current.revision}">
<input type="hidden" name="title" value="${mine.title}"><input type="hidden" name="body" value="${mine.body}"><input type="hidden" name="tags" value="${mine.tags.join(', ')}">
<button>Keep mine (replace revision ${current.revision})</button> or <a href="/articles/${id}">take theirs</a></form>`
    : ''
}`;
}
