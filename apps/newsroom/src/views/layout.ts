import type { ReadReport } from '../reads';
import { type Html, html, raw } from './html';

/** Who is looking and what served them, for the header and footer of every page. */
export interface PageContext {
  /** The app process's name (the demo runs two, behind a round-robin proxy). */
  app: string;
  editor: string | undefined;
  reads: ReadReport | undefined;
}

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:0 auto;padding:0 1rem;color:#222}
header{display:flex;gap:1rem;align-items:baseline;border-bottom:2px solid #222;padding:.5rem 0}
header h1{margin:0;font-size:1.6rem}header a{color:inherit}header .who{margin-left:auto}
a{color:#1a4f8b}ul.articles{list-style:none;padding:0}ul.articles li{padding:.4rem 0;border-bottom:1px solid #ddd}
.meta{color:#666;font-size:.85rem}.tag{display:inline-block;background:#eef;border-radius:3px;padding:0 .4rem;margin-right:.3rem;font-size:.85rem}
.fresh{animation:fresh 3s}@keyframes fresh{from{background:#ffe98a}to{background:transparent}}
footer{border-top:1px solid #ccc;margin-top:2rem;padding:.5rem 0;color:#666;font-size:.8rem}
form.stack{display:flex;flex-direction:column;gap:.5rem}input,textarea{font:inherit;padding:.3rem}textarea{min-height:12rem}
.versions{display:grid;grid-template-columns:1fr 1fr;gap:1rem}.versions section{border:1px solid #ccc;padding:.5rem;white-space:pre-wrap}
.error{background:#fdd;padding:.5rem}.notice{background:#dfd;padding:.5rem}
button.link{background:none;border:0;color:#1a4f8b;cursor:pointer;font:inherit;padding:0}
`;

export function layout(ctx: PageContext, title: string, body: Html, script?: string): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} - Bellwether Newsroom</title><link rel="icon" href="data:,"><style>${raw(STYLE)}</style></head>
<body><header><h1><a href="/">Bellwether Newsroom</a></h1>
<span class="who">${
    ctx.editor
      ? html`editor <strong>${ctx.editor}</strong> · <a href="/editor">my desk</a> · <form method="post" action="/logout" style="display:inline"><button class="link">sign out</button></form>`
      : html`<a href="/login">editors sign in</a>`
  }</span></header>
<main>${body}</main>
<footer id="served-by" data-app="${ctx.app}" data-mode="${ctx.reads?.mode ?? ''}" data-member="${ctx.reads?.memberId ?? ''}">served by app process <strong>${ctx.app}</strong>${
    ctx.reads
      ? html`; read <strong>${ctx.reads.mode}</strong> from member <strong>${ctx.reads.memberId}</strong> at applied index ${ctx.reads.appliedIndex}${
          ctx.reads.sessionIndex !== undefined ? html` (your session needs index ${ctx.reads.sessionIndex} or later)` : ''
        }`
      : ''
  }</footer>
${script ? html`<script src="${script}"></script>` : ''}</body></html>`;
}

