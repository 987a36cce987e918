// The docs assistant's web page: ask a question, watch the answer being written (server-sent events), read the checked, cited answer, open a citation, rate the answer,
// upload and delete your documents. It calls POST v1/ask, GET v1/chunks, POST v1/feedback and
// GET/POST/DELETE v1/documents; an API key typed into the page is kept in localStorage and sent as a Bearer token.
//
// Safe by construction: every text that comes from the model or from a document (answers, quotes, chunks,
// sources, error details) enters the page through textContent or createTextNode, never as HTML (this file has
// no innerHTML, outerHTML, insertAdjacentHTML or document.write). Markdown or HTML inside an answer shows as
// its source text, so an <img onerror=...> or ![x](https://host/p.png) in an uploaded document can neither run
// nor load anything. The page itself runs under Content-Security-Policy default-src 'self': no inline script
// or style, no element style attributes (visibility is the hidden attribute, looks are classes).
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const KEY_STORE = "aie-api-key";
  const keyInput = $("apikey");
  keyInput.value = localStorage.getItem(KEY_STORE) || "";
  keyInput.addEventListener("change", () => {
    localStorage.setItem(KEY_STORE, keyInput.value.trim());
    loadDocuments();
  });

  let citations = [];
  let requestId = null;
  let rating = null;

  function apiKey() {
    return keyInput.value.trim();
  }

  function authHeaders(extra) {
    const h = Object.assign({}, extra || {});
    if (apiKey()) h["Authorization"] = "Bearer " + apiKey();
    return h;
  }

  // "<status>: <detail>" of a failed response (FastAPI puts the reason in "detail").
  async function failure(r) {
    let detail = r.statusText;
    try {
      const body = await r.json();
      if (body && body.detail !== undefined) detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    } catch (e) { /* not JSON: keep the status text */ }
    return r.status + ": " + detail;
  }

  // --- the answer and its citations -----------------------------------------------------------------

  function citeLink(c, label) {
    const a = document.createElement("a");
    a.href = "#";
    a.className = "cite";
    a.dataset.marker = c.marker;
    a.textContent = label;
    a.addEventListener("click", (ev) => { ev.preventDefault(); show(c, a); });
    return a;
  }

  function renderAnswer(text) {
    const box = $("answer");
    box.textContent = "";
    for (const part of text.split(/(\[\d{1,3}\])/)) {
      const c = citations.find((x) => x.marker === part);
      box.appendChild(c ? citeLink(c, part) : document.createTextNode(part));
    }
  }

  function renderCitations() {
    const list = $("citations");
    list.textContent = "";
    for (const c of citations) {
      const li = document.createElement("li");
      li.appendChild(citeLink(c, c.marker + " " + c.source));
      const q = document.createElement("div");
      q.className = "src";
      q.textContent = "\u201c" + c.quote + "\u201d";
      li.appendChild(q);
      list.appendChild(li);
    }
    $("sources").hidden = citations.length === 0;
  }

  // Show `text` in `container` with the first occurrence of `quote` (whitespace-insensitive) marked.
  function highlight(container, text, quote) {
    container.textContent = "";
    const words = quote.trim().split(/\s+/).filter(Boolean).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    const match = words.length ? new RegExp(words.join("\\s+")).exec(text) : null;
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
    $("chunk-source").textContent = c.source + " \u00b7 " + c.chunk_id;
    highlight($("chunk"), c.quote, c.quote);
    if (c.chunk_id.startsWith("tool:")) return;
    try {
      const r = await fetch("v1/chunks?id=" + encodeURIComponent(c.chunk_id), { headers: authHeaders() });
      if (r.ok) {
        const chunk = await r.json();
        highlight($("chunk"), chunk.text, c.quote);
      }
    } catch (e) { /* the quote is already shown */ }
  }

  function resetFeedback(id) {
    requestId = id || null;
    $("result").dataset.requestId = requestId || "";
    rating = null;
    document.querySelectorAll("button.rate").forEach((b) => b.setAttribute("aria-pressed", "false"));
    $("feedback-comment").value = "";
    $("feedback-send").disabled = true;
    $("feedback-status").textContent = "";
    $("feedback").hidden = !requestId;
  }

  // The checked answer (the /v1/ask body, the stream's "citations" event) replaces the draft.
  function showAnswer(body) {
    citations = body.citations || [];
    $("result").hidden = false;
    $("result").className = body.refused ? "refused" : body.abstained ? "abstained" : "";
    renderAnswer(body.answer);
    renderCitations();
    const dropped = body.dropped_sentences ? body.dropped_sentences + " unsupported sentence(s) removed \u00b7 " : "";
    const quoted = body.extractive_fallback ? "quoted from the sources \u00b7 " : "";
    $("status").textContent = (body.refused ? "refused \u00b7 " : body.abstained ? "no answer in the sources \u00b7 " : "") +
      dropped + quoted + body.latency_ms.toFixed(0) + " ms \u00b7 " + body.usage.input_tokens + "+" +
      body.usage.output_tokens + " tokens \u00b7 $" + body.usage.cost_usd.toFixed(6);
    resetFeedback(body.request_id);
    $("debug").textContent = body.debug ? JSON.stringify(body.debug, null, 1) : "";
    $("debug-box").hidden = !body.debug;
  }

  // Server-sent events from a fetch body: calls onEvent(name, data) for each complete event.
  async function readEvents(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length) onEvent(name, JSON.parse(data.join("\n")));
      }
    }
  }

  $("ask").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const question = $("question").value.trim();
    if (!question) return;
    $("submit").disabled = true;
    $("error").textContent = "";
    $("viewer").hidden = true;
    try {
      const r = await fetch("v1/ask", {
        method: "POST",
        headers: authHeaders({ "Content-Type": "application/json", "Accept": "text/event-stream" }),
        body: JSON.stringify({ question, stream: true }),
      });
      if (!r.ok) { $("error").textContent = await failure(r); return; }
      const box = $("answer");
      let draft = "";
      citations = [];
      renderCitations();
      resetFeedback(null);
      $("result").hidden = false;
      $("result").className = "drafting";
      $("status").textContent = "writing\u2026";
      box.textContent = "";
      await readEvents(r, (name, data) => {
        if (name === "token") {
          draft += data.text;
          box.textContent = draft; // the unchecked draft, as it arrives
        } else if (name === "citations") {
          showAnswer(data);
        } else if (name === "error") {
          $("result").className = "abstained";
          $("status").textContent = "";
          $("error").textContent = data.status + ": " + data.detail;
        }
      });
    } catch (e) {
      $("error").textContent = "request failed: " + e;
    } finally {
      $("submit").disabled = false;
    }
  });

  // --- feedback on the answer: thumbs up or down and an optional comment ------------------------------

  document.querySelectorAll("button.rate").forEach((button) => {
    button.addEventListener("click", () => {
      rating = button.dataset.rating;
      document.querySelectorAll("button.rate").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      $("feedback-send").disabled = !requestId;
    });
  });

  $("feedback").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!requestId || !rating) return;
    const comment = $("feedback-comment").value.trim();
    $("feedback-send").disabled = true;
    $("feedback-status").textContent = "sending\u2026";
    try {
      const r = await fetch("v1/feedback", {
        method: "POST",
        headers: authHeaders({ "Content-Type": "application/json" }),
        body: JSON.stringify({ request_id: requestId, rating: rating, comment: comment || null }),
      });
      if (r.ok) {
        $("feedback-status").textContent = "thanks: feedback recorded";
      } else {
        $("feedback-status").textContent = await failure(r);
        $("feedback-send").disabled = false;
      }
    } catch (e) {
      $("feedback-status").textContent = "request failed: " + e;
      $("feedback-send").disabled = false;
    }
  });

  // --- documents: upload, list, delete ----------------------------------------------------------------

  function documentPath(source) {  // v1/documents/<source>, each segment of the source escaped
    return "v1/documents/" + source.split("/").map(encodeURIComponent).join("/");
  }

  async function loadDocuments() {
    const list = $("document-list");
    list.textContent = "";
    if (!apiKey()) return;
    let docs = [];
    try {
      const r = await fetch("v1/documents", { headers: authHeaders() });
      if (!r.ok) { $("upload-status").textContent = await failure(r); return; }
      docs = await r.json();
    } catch (e) {
      $("upload-status").textContent = "request failed: " + e;
      return;
    }
    for (const doc of docs.filter((d) => d.connector === "upload")) {
      const li = document.createElement("li");
      li.dataset.source = doc.source;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = doc.source + " \u00b7 " + doc.visibility + " \u00b7 " + doc.chunks + " chunk(s)";
      const del = document.createElement("button");
      del.type = "button";
      del.className = "delete";
      del.textContent = "Delete";
      del.addEventListener("click", () => deleteDocument(doc.source, del));
      li.appendChild(name);
      li.appendChild(del);
      list.appendChild(li);
    }
  }

  async function deleteDocument(source, button) {
    button.disabled = true;
    try {
      const r = await fetch(documentPath(source), { method: "DELETE", headers: authHeaders() });
      if (r.ok) {
        $("upload-status").textContent = "deleted " + source;
        await loadDocuments();
        return;
      }
      $("upload-status").textContent = await failure(r);
    } catch (e) {
      $("upload-status").textContent = "request failed: " + e;
    }
    button.disabled = false;
  }

  $("upload").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = $("upload-file").files[0];
    if (!file) return;
    if (!apiKey()) { $("upload-status").textContent = "uploading needs an API key (create one with `aie user add NAME`)"; return; }
    const form = new FormData();
    form.append("file", file);
    form.append("visibility", $("upload-visibility").value);
    $("upload-submit").disabled = true;
    $("upload-status").textContent = "uploading " + file.name + "\u2026";
    try {
      const r = await fetch("v1/documents", { method: "POST", headers: authHeaders(), body: form });
      if (!r.ok) { $("upload-status").textContent = await failure(r); return; }
      const result = await r.json();
      $("upload-status").textContent = result.source + ": " + result.status + ", " + result.chunks + " chunk(s)" +
        (result.quarantined_chunks ? ", " + result.quarantined_chunks + " quarantined" : "");
      $("upload").reset();
      await loadDocuments();
    } catch (e) {
      $("upload-status").textContent = "request failed: " + e;
    } finally {
      $("upload-submit").disabled = false;
    }
  });

  loadDocuments();
})();
