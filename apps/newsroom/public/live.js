// The live front page: listens to /events (server-sent events) and puts each
// published or edited article at its place in the list, without a reload.
(() => {
  const list = document.getElementById('articles');
  if (!list || typeof EventSource === 'undefined') return;
  const onlyTag = list.dataset.tag;
  const status = document.getElementById('live-status');
  const source = new EventSource('/events');

  source.addEventListener('open', () => {
    list.dataset.live = 'open';
    if (status) status.textContent = 'live: new and edited articles appear here by themselves';
  });
  source.addEventListener('error', () => {
    list.dataset.live = 'reconnecting';
    if (status) status.textContent = 'live: reconnecting...';
  });
  source.addEventListener('article', (message) => {
    const a = JSON.parse(message.data);
    const old = list.querySelector(`li[data-id="${CSS.escape(a.id)}"]`);
    if (a.type === 'delete') {
      old?.remove();
      return;
    }
    if (onlyTag && !a.tags.includes(onlyTag)) {
      old?.remove();
      return;
    }
    if (old && Number(old.dataset.revision) >= a.revision) return;
    const item = render(a);
    if (old) old.replaceWith(item);
    else insertByIdOrder(item);
    document.getElementById('empty')?.remove();
  });

  // Ids sort newest first, like the server's list.
  function insertByIdOrder(item) {
    for (const li of list.children) {
      if (li.dataset.id > item.dataset.id) {
        list.insertBefore(item, li);
        return;
      }
    }
    list.appendChild(item);
  }

  function render(a) {
    const li = document.createElement('li');
    li.dataset.id = a.id;
    li.dataset.revision = String(a.revision);
    li.className = 'fresh';
    const link = document.createElement('a');
    link.className = 'title';
    link.href = `/articles/${encodeURIComponent(a.id)}`;
    link.textContent = a.title;
    const meta = document.createElement('div');
    meta.className = 'meta';
    meta.append(`by ${a.author} · ${a.updatedAt.slice(0, 16).replace('T', ' ')} UTC · `);
    for (const t of a.tags) {
      const tag = document.createElement('a');
      tag.className = 'tag';
      tag.href = `/tags/${encodeURIComponent(t)}`;
      tag.textContent = t;
      meta.append(tag);
    }
    li.append(link, meta);
    return li;
  }
})();
