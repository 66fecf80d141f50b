// Staff console: live queue and live transcript. Everything from the server is put on the
// page with textContent, never as HTML, so a message can never run as script.
"use strict";

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function badge(level) {
  return el("span", "level level-" + level, level);
}

function shortTime(iso) {
  return (iso || "").slice(0, 19).replace("T", " ");
}

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (response.status === 401) {
    window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname);
    throw new Error("signed out");
  }
  if (!response.ok) throw new Error("HTTP " + response.status);
  return response.json();
}

function renderQueue(items) {
  const list = document.getElementById("queue");
  const rows = [];
  for (const h of items) {
    const li = el("li", "handoff level-" + h.level);
    li.dataset.id = h.id;
    const row = el("div", "row");
    row.append(badge(h.level));
    const link = el("a", "open", "Conversation " + h.ref);
    link.href = "/c/" + encodeURIComponent(h.ref);
    row.append(link, el("span", "channel", h.channel), el("span", "waiting", "waiting " + h.waiting));
    row.append(el("span", "status", h.status + (h.claimed_by ? " by " + h.claimed_by : "")));
    li.append(row, el("div", "categories", (h.categories || []).join(", ")));
    const evidence = el("ul", "evidence");
    for (const e of h.evidence || []) evidence.append(el("li", null, e.category + ": \u201c" + e.text + "\u201d"));
    const last = el("ul", "last");
    for (const m of h.last_messages || []) {
      const item = el("li", "msg-" + m.kind);
      item.append(el("b", null, m.kind), document.createTextNode(" " + m.text));
      last.append(item);
    }
    li.append(evidence, last);
    if ((h.grouped || []).length) {
      // Other new conversations from the same address (flood guard): each is its own
      // handoff, claimable on its own page.
      const more = el("ul", "grouped");
      more.append(el("li", null, "Same address, " + h.grouped.length + " more:"));
      for (const g of h.grouped) {
        const item = el("li");
        const a = el("a", null, g.level + " " + g.ref + " (" + g.status + ")");
        a.href = "/c/" + encodeURIComponent(g.ref);
        item.append(a);
        more.append(item);
      }
      li.append(more);
    }
    rows.push(li);
  }
  if (!rows.length) rows.push(el("li", "empty", "No open handoffs."));
  list.replaceChildren(...rows);
  const stamp = document.getElementById("queue-updated");
  if (stamp) stamp.textContent = "Updated " + new Date().toLocaleTimeString() + ".";
}

function startQueue() {
  const tick = async () => {
    try {
      renderQueue((await getJSON("/api/queue")).items);
    } catch (err) {
      const stamp = document.getElementById("queue-updated");
      if (stamp) stamp.textContent = "Could not update (" + err.message + "); retrying.";
    }
  };
  setInterval(tick, 3000);
}

function transcriptItem(m) {
  const li = el("li", "msg msg-" + m.kind);
  li.dataset.event = m.event_id;
  li.append(el("span", "time", shortTime(m.at)), el("span", "who", m.kind), el("span", "text", m.text));
  if (m.kind === "user") {
    li.append(el("span", "nlu", "intent " + m.intent + " (" + Number(m.confidence || 0).toFixed(2) + ")"));
    if (m.safety) {
      const safety = el("span", "safety");
      safety.append(badge(m.safety.level));
      for (const e of m.safety.evidence || []) safety.append(document.createTextNode(" " + e.category + ": \u201c" + e.text + "\u201d"));
      li.append(safety);
    }
  }
  return li;
}

function startTranscript() {
  const list = document.getElementById("transcript");
  const ref = list.dataset.ref;
  const state = document.getElementById("handoff-state");
  const tick = async () => {
    try {
      const data = await getJSON("/api/c/" + encodeURIComponent(ref) + "/events?after=" + list.dataset.after);
      for (const m of data.items) {
        list.append(transcriptItem(m));
        list.dataset.after = m.event_id;
      }
      const status = data.handoff ? data.handoff.status : "none";
      if (state && state.dataset.status !== status) {
        state.dataset.status = status;
        state.replaceChildren(el("p", "changed", "The handoff is now " + status + (data.handoff && data.handoff.claimed_by ? " by " + data.handoff.claimed_by : "") + ". Reload for the actions."));
      }
    } catch (err) {
      /* keep polling */
    }
  };
  setInterval(tick, 2000);
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "queue") startQueue();
  if (page === "conversation") startTranscript();
});
