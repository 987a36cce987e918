"""The web page served at ``GET /``: ask a question, read the answer, click a citation to see its chunk.

One self-contained HTML document (no build step, no external assets, so it works offline and
under a strict allow-list). It calls ``POST /v1/ask`` and ``GET /v1/chunks``; an API key typed
into the page is kept in the browser's localStorage and sent as a Bearer token.
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Docs assistant · AI Engineer Track</title>
<style>
  :root { --ink: #1d2330; --muted: #5d6677; --line: #d9dee7; --accent: #2456c5; --mark: #fff1a8; }
  * { box-sizing: border-box; }
  body { font: 16px/1.5 system-ui, sans-serif; color: var(--ink); margin: 0; background: #f6f7fa; }
  main { max-width: 860px; margin: 0 auto; padding: 24px 16px 64px; }
  h1 { font-size: 1.4rem; margin: 0 0 4px; }
  p.lead { color: var(--muted); margin: 0 0 20px; }
  form { display: flex; gap: 8px; }
  #question { flex: 1; padding: 10px 12px; font-size: 1rem; border: 1px solid var(--line); border-radius: 6px; }
  button { padding: 10px 18px; font-size: 1rem; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
  button:disabled { opacity: .6; cursor: wait; }
  details.key { margin: 8px 0 20px; color: var(--muted); font-size: .9rem; }
  details.key input { width: 100%; padding: 6px 8px; margin-top: 6px; border: 1px solid var(--line); border-radius: 4px; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px; margin-top: 16px; }
  #answer { white-space: pre-wrap; }
  a.cite { color: var(--accent); font-weight: 600; text-decoration: none; padding: 0 1px; }
  a.cite:hover, a.cite.active { background: var(--mark); }
  #status { color: var(--muted); font-size: .85rem; margin-top: 8px; }
  .abstained { border-left: 4px solid #c58b24; }
  .refused { border-left: 4px solid #b23a3a; }
  ol#citations { padding-left: 20px; margin: 0; }
  ol#citations li { margin: 6px 0; }
  .src { color: var(--muted); font-size: .85rem; }
  #chunk { white-space: pre-wrap; font-size: .92rem; max-height: 420px; overflow: auto; }
  mark { background: var(--mark); }
  .error { color: #b23a3a; }
  pre.debug { font-size: .75rem; max-height: 320px; overflow: auto; background: #f2f4f8; padding: 8px; }
</style>
</head>
<body>
<main>
  <h1>Docs assistant</h1>
  <p class="lead">Answers from the Python language reference and the AI Engineer Track wiki. Every sentence cites the
  passage it comes from: click a marker such as [1] to read it.</p>
  <form id="ask">
    <input id="question" name="question" autocomplete="off" placeholder="e.g. What does the assert statement do?" maxlength="6000" required>
    <button id="submit" type="submit">Ask</button>
  </form>
  <details class="key"><summary>API key (optional: private documents)</summary>
    <input id="apikey" type="password" placeholder="aie_..." autocomplete="off">
  </details>
  <div id="error" class="error" role="alert"></div>
  <section id="result" hidden>
    <div id="answer" aria-live="polite"></div>
    <div id="status"></div>
  </section>
  <section id="sources" hidden>
    <strong>Citations</strong>
    <ol id="citations"></ol>
  </section>
  <section id="viewer" hidden>
    <div><strong id="chunk-marker"></strong> <span class="src" id="chunk-source"></span></div>
    <div id="chunk"></div>
  </section>
  <section id="debug-box" hidden>
    <details><summary>Debug: retrieval stages and agent trace</summary><pre class="debug" id="debug"></pre></details>
  </section>
</main>
<script>
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const keyInput = $("apikey");
  keyInput.value = localStorage.getItem("aie-api-key") || "";
  keyInput.addEventListener("change", () => localStorage.setItem("aie-api-key", keyInput.value.trim()));
  let citations = [];

  function headers() {
    const h = { "Content-Type": "application/json" };
    const key = keyInput.value.trim();
    if (key) h["Authorization"] = "Bearer " + key;
    return h;
  }

  function renderAnswer(text) {
    const box = $("answer");
    box.textContent = "";
    const parts = text.split(/(\\[\\d{1,3}\\])/);
    for (const part of parts) {
      const c = citations.find((x) => x.marker === part);
      if (c) {
        const a = document.createElement("a");
        a.href = "#";
        a.className = "cite";
        a.textContent = part;
        a.dataset.marker = part;
        a.addEventListener("click", (ev) => { ev.preventDefault(); show(c, a); });
        box.appendChild(a);
      } else {
        box.appendChild(document.createTextNode(part));
      }
    }
  }

  function renderCitations() {
    const list = $("citations");
    list.textContent = "";
    for (const c of citations) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "#";
      a.className = "cite";
      a.dataset.marker = c.marker;
      a.textContent = c.marker + " " + c.source;
      a.addEventListener("click", (ev) => { ev.preventDefault(); show(c, a); });
      const q = document.createElement("div");
      q.className = "src";
      q.textContent = "\\u201c" + c.quote + "\\u201d";
      li.appendChild(a);
      li.appendChild(q);
      list.appendChild(li);
    }
    $("sources").hidden = citations.length === 0;
  }

  function highlight(container, text, quote) {
    container.textContent = "";
    const words = quote.trim().split(/\\s+/).map((w) => w.replace(/[.*+?^${}()|[\\]\\\\]/g, "\\\\$&"));
    const match = words.length ? new RegExp(words.join("\\\\s+")).exec(text) : null;
    if (!match) { container.textContent = text; return; }
    container.appendChild(document.createTextNode(text.slice(0, match.index)));
    const mark = document.createElement("mark");
    mark.textContent = match[0];
    container.appendChild(mark);
    container.appendChild(document.createTextNode(text.slice(match.index + match[0].length)));
  }

  async function show(c, link) {
    document.querySelectorAll("a.cite.active").forEach((x) => x.classList.remove("active"));
    link.classList.add("active");
    $("viewer").hidden = false;
    $("chunk-marker").textContent = c.marker;
    $("chunk-source").textContent = c.source + " \\u00b7 " + c.chunk_id;
    highlight($("chunk"), c.quote, c.quote);
    if (c.chunk_id.startsWith("tool:")) return;
    try {
      const r = await fetch("/v1/chunks?id=" + encodeURIComponent(c.chunk_id), { headers: headers() });
      if (r.ok) {
        const chunk = await r.json();
        highlight($("chunk"), chunk.text, c.quote);
      }
    } catch (e) { /* the quote is already shown */ }
  }

  $("ask").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const question = $("question").value.trim();
    if (!question) return;
    $("submit").disabled = true;
    $("error").textContent = "";
    $("viewer").hidden = true;
    try {
      const r = await fetch("/v1/ask", { method: "POST", headers: headers(), body: JSON.stringify({ question }) });
      const body = await r.json();
      if (!r.ok) {
        $("error").textContent = (r.status + ": ") + (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail));
        return;
      }
      citations = body.citations || [];
      $("result").hidden = false;
      $("result").className = body.refused ? "refused" : body.abstained ? "abstained" : "";
      renderAnswer(body.answer);
      renderCitations();
      $("status").textContent = (body.refused ? "refused \\u00b7 " : body.abstained ? "no answer in the sources \\u00b7 " : "") +
        body.latency_ms.toFixed(0) + " ms \\u00b7 " + body.usage.input_tokens + "+" + body.usage.output_tokens +
        " tokens \\u00b7 $" + body.usage.cost_usd.toFixed(6);
      $("debug").textContent = JSON.stringify(body.debug, null, 1);
      $("debug-box").hidden = false;
    } catch (e) {
      $("error").textContent = "request failed: " + e;
    } finally {
      $("submit").disabled = false;
    }
  });
})();
</script>
</body>
</html>
"""
