// Typesets pymdownx.arithmatex's generic output (\(..\) and \[..\]) with the local KaTeX copy.
document.addEventListener("DOMContentLoaded", function () {
  if (typeof katex === "undefined") return;
  document.querySelectorAll(".arithmatex").forEach(function (el) {
    var tex = el.textContent.trim().replace(/^\\[\(\[]/, "").replace(/\\[\)\]]$/, "");
    try { katex.render(tex, el, {displayMode: el.tagName === "DIV", throwOnError: false}); } catch (e) {}
  });
});
