/* Baton customer widget: one tag, no dependencies, no external requests.
 *   <script src="https://baton.example.com/widget.js" data-handoff-id="ho_…" data-token="…" async></script>
 * attaches to a handoff your back end created (POST /v1/handoffs with your API key returns id + customer_token).
 * data-demo="true" instead plays a small AI chat that escalates through /demo/handoffs (BATON_DEMO only).
 * Also: window.Baton.attach(id, token), window.Baton.open(). Emits "baton:handoff" on document when attached. */
(function () {
  "use strict";
  var me = document.currentScript;
  var base = me ? new URL(me.src, location.href).origin : location.origin;
  var cfg = (me && me.dataset) || {};
  var locale = (cfg.locale || navigator.language || "en").slice(0, 2).toLowerCase() === "es" ? "es" : "en";
  var T = {
    en: {open: "Chat with us", title: "Support", close: "Close chat", label: "Your message", send: "Send",
      human: "Talk to a human", hi: "Hi! I'm the AI assistant. How can I help?",
      ai: "I'm not completely sure about that one. I can bring in a human specialist, who will see this whole conversation: press \u201cTalk to a human\u201d.",
      connecting: "Connecting you with a person\u2026", line: "in line", next: "You're next", wait: "about %s min",
      soon: "under a minute", longer: "may take longer than usual", helping: "%s is helping you",
      someone: "A specialist", nobody: "nobody is on shift right now", back: "back %s",
      solved: "Solved", rate: "How did we do?", comment: "Anything to add? (optional)", submit: "Send rating",
      call: "Call me back instead", email: "Email me instead", contact: "Phone or email", failed: "Something went wrong: ",
      offline: "Reconnecting\u2026"},
    es: {open: "Chatea con nosotros", title: "Soporte", close: "Cerrar chat", label: "Tu mensaje", send: "Enviar",
      human: "Hablar con una persona", hi: "\u00a1Hola! Soy el asistente de IA. \u00bfEn qu\u00e9 te ayudo?",
      ai: "No estoy del todo seguro. Puedo pasarte con un especialista, que ver\u00e1 toda la conversaci\u00f3n: pulsa \u201cHablar con una persona\u201d.",
      connecting: "Te estoy conectando con una persona\u2026", line: "en la fila", next: "Eres el siguiente",
      wait: "unos %s min", soon: "menos de un minuto", longer: "puede tardar m\u00e1s de lo habitual",
      helping: "%s te est\u00e1 atendiendo", someone: "Un especialista",
      nobody: "ahora mismo no hay nadie del equipo", back: "vuelven %s", solved: "Resuelto", rate: "\u00bfQu\u00e9 tal lo hicimos?",
      comment: "\u00bfAlgo m\u00e1s? (opcional)", submit: "Enviar valoraci\u00f3n", call: "Prefiero que me llam\u00e9is",
      email: "Prefiero un correo", contact: "Tel\u00e9fono o correo", failed: "Algo fall\u00f3: ", offline: "Reconectando\u2026"}
  }[locale];

  var css = ".bw-launch{position:fixed;right:20px;bottom:20px;z-index:2147483000;background:#1f4fd8;color:#fff;border:0;" +
    "border-radius:24px;padding:12px 18px;font:600 15px system-ui,sans-serif;cursor:pointer}" +
    ".bw-panel{position:fixed;right:20px;bottom:76px;z-index:2147483000;width:360px;max-width:calc(100vw - 40px);" +
    "height:520px;max-height:calc(100vh - 100px);display:flex;flex-direction:column;background:#fff;color:#1b1b1f;" +
    "border:1px solid #ccd;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.18);font:14px/1.4 system-ui,sans-serif}" +
    ".bw-panel[hidden]{display:none}.bw-head{display:flex;justify-content:space-between;align-items:center;" +
    "padding:10px 14px;background:#1f4fd8;color:#fff;border-radius:12px 12px 0 0}.bw-head h2{margin:0;font-size:16px}" +
    ".bw-x{background:none;border:0;color:#fff;font-size:20px;cursor:pointer}" +
    ".bw-status{padding:8px 14px;background:#eef2ff;border-bottom:1px solid #dde;font-weight:600;min-height:1.4em}" +
    ".bw-log{flex:1;overflow-y:auto;padding:10px 14px;display:flex;flex-direction:column;gap:8px}" +
    ".bw-msg{max-width:85%;padding:8px 11px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word}" +
    ".bw-customer{align-self:flex-end;background:#1f4fd8;color:#fff}.bw-ai,.bw-agent{align-self:flex-start;background:#f0f0f4}" +
    ".bw-agent{background:#e6f4ea}.bw-system{align-self:center;background:#fff8e1;font-size:13px;max-width:95%}" +
    ".bw-who{display:block;font-size:12px;font-weight:600;opacity:.8}.bw-actions{display:flex;gap:6px;padding:0 14px 6px;flex-wrap:wrap}" +
    ".bw-actions button,.bw-form button,.bw-csat button{border:1px solid #1f4fd8;background:#fff;color:#1f4fd8;border-radius:8px;" +
    "padding:6px 10px;cursor:pointer;font:inherit}.bw-form{display:flex;gap:6px;padding:8px 14px;border-top:1px solid #dde}" +
    ".bw-form input{flex:1;padding:7px;border:1px solid #aab;border-radius:8px;font:inherit}" +
    ".bw-csat{padding:8px 14px;border-top:1px solid #dde}.bw-csat fieldset{border:0;padding:0;margin:0 0 6px}" +
    ".bw-csat input[type=text]{width:100%;box-sizing:border-box;margin:4px 0;padding:6px}" +
    ".bw-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}" +
    ".bw-panel :focus-visible,.bw-launch:focus-visible{outline:3px solid #f5a623;outline-offset:2px}";

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) { if (k === "class") e.className = attrs[k]; else e.setAttribute(k, attrs[k]); }
    if (text != null) e.textContent = text;
    return e;
  }
  var st = el("style"); st.textContent = css; document.head.appendChild(st);
  var launch = el("button", {"class": "bw-launch", type: "button", "aria-expanded": "false", "aria-controls": "baton-panel"}, T.open);
  var panel = el("section", {"class": "bw-panel", id: "baton-panel", role: "dialog", "aria-label": T.title, hidden: ""});
  var head = el("div", {"class": "bw-head"}); head.appendChild(el("h2", null, T.title));
  var x = el("button", {"class": "bw-x", type: "button", "aria-label": T.close}, "\u00d7"); head.appendChild(x);
  var status = el("div", {"class": "bw-status", id: "baton-status", role: "status", "aria-live": "polite"});
  var log = el("div", {"class": "bw-log", id: "baton-log", role: "log", "aria-live": "polite", tabindex: "0"});
  var actions = el("div", {"class": "bw-actions"});
  var human = el("button", {type: "button", id: "baton-human"}, T.human);
  var callBtn = el("button", {type: "button", id: "baton-callback", hidden: ""}, T.call);
  var mailBtn = el("button", {type: "button", id: "baton-email", hidden: ""}, T.email);
  actions.appendChild(human); actions.appendChild(callBtn); actions.appendChild(mailBtn);
  var form = el("form", {"class": "bw-form"});
  var lab = el("label", {"for": "baton-input", "class": "bw-sr"}, T.label);
  var input = el("input", {id: "baton-input", name: "message", autocomplete: "off", maxlength: "2000"});
  form.appendChild(lab); form.appendChild(input); form.appendChild(el("button", {type: "submit"}, T.send));
  var csat = el("form", {"class": "bw-csat", id: "baton-csat", hidden: ""});
  var fs = el("fieldset"); fs.appendChild(el("legend", null, T.rate));
  for (var i = 1; i <= 5; i++) {
    var l = el("label"); var r = el("input", {type: "radio", name: "score", value: String(i), required: ""});
    l.appendChild(r); l.appendChild(document.createTextNode(" " + i + " ")); fs.appendChild(l);
  }
  csat.appendChild(fs);
  csat.appendChild(el("label", {"for": "baton-comment", "class": "bw-sr"}, T.comment));
  csat.appendChild(el("input", {type: "text", id: "baton-comment", placeholder: T.comment, maxlength: "2000"}));
  csat.appendChild(el("button", {type: "submit"}, T.submit));
  [head, status, log, actions, csat, form].forEach(function (n) { panel.appendChild(n); });
  document.body.appendChild(launch); document.body.appendChild(panel);

  var transcript = [], handoff = null, token = null, source = null, seen = {};
  function say(kind, text, who) {
    var m = el("div", {"class": "bw-msg bw-" + kind});
    if (who) m.appendChild(el("span", {"class": "bw-who"}, who));
    m.appendChild(document.createTextNode(text));
    log.appendChild(m); log.scrollTop = log.scrollHeight;
  }
  function setOpen(open) {
    panel.hidden = !open; launch.setAttribute("aria-expanded", String(open));
    if (open) input.focus(); else launch.focus();
  }
  launch.addEventListener("click", function () { setOpen(panel.hidden); });
  x.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") setOpen(false); });

  function api(method, path, body) {
    var h = {"Content-Type": "application/json"};
    if (token) h.Authorization = "Bearer " + token;
    return fetch(base + path, {method: method, headers: h, body: body ? JSON.stringify(body) : undefined})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (!r.ok) throw new Error(j.message || ("HTTP " + r.status));
          return j;
        });
      });
  }
  function fail(e) { status.textContent = T.failed + e.message; }
  function backAt(e) {  // in the zone the server chose (the customer's, else UTC), and it says which
    try {
      return new Date(e.back_at).toLocaleString(locale, {weekday: "short", hour: "2-digit", minute: "2-digit",
        timeZone: e.back_zone}) + (e.back_zone === "UTC" ? " UTC" : "");
    } catch (err) { return e.back_at; }
  }
  function eta(s) {  // s.estimate is the server's one wait value: state estimate | longer_than_usual | nobody_on_shift
    var e = s.estimate;
    if (!e) return "";
    if (e.state === "nobody_on_shift") return T.nobody + (e.back_at ? " \u00b7 " + T.back.replace("%s", backAt(e)) : "");
    if (e.longer_than_usual || e.seconds == null) return T.longer;
    return e.seconds < 60 ? T.soon : T.wait.replace("%s", Math.ceil(e.seconds / 60));
  }
  function showStatus(s) {
    var text;
    if (s.agent && (s.status === "claimed" || s.status === "pending_customer")) {
      text = T.helping.replace("%s", s.agent.display_name || T.someone);
    }
    else if (s.status === "queued") {
      text = (s.position > 1 ? "#" + s.position + " " + T.line : T.next) + (eta(s) ? " \u00b7 " + eta(s) : "");
    } else if (s.status === "resolved" || s.status === "closed") text = T.solved;
    status.textContent = text || "";
    var offer = s.status === "queued" && !s.callback_requested && s.estimate && s.estimate.longer_than_usual;
    if (offer) { callBtn.hidden = false; mailBtn.hidden = false; }
    if (s.callback_requested || s.status !== "queued") { callBtn.hidden = true; mailBtn.hidden = true; }
    if (s.status === "resolved" && !s.rated) csat.hidden = false;
  }
  var TYPES = ["queued", "update", "wait_update", "callback_offer", "transferred", "requeued", "agent_joined",
    "agent_message", "customer_message", "resolved", "closed", "csat_received", "callback_requested"];
  function onEvent(e) {
    var d = JSON.parse(e.data);
    if (seen[d.id]) return;
    seen[d.id] = true;
    if (d.type === "agent_message") say("agent", d.text, d.data.agent_name || T.someone);
    else if (d.type === "customer_message") say("customer", d.text);
    else say("system", d.text);
    if (d.type === "callback_offer") { callBtn.hidden = false; mailBtn.hidden = false; }
    if (d.type === "callback_requested") { callBtn.hidden = true; mailBtn.hidden = true; }
    if (d.type === "resolved") csat.hidden = false;
    if (d.type === "csat_received") csat.hidden = true;
  }
  function attach(id, tok) {
    handoff = id; token = tok; human.hidden = true;
    if (source) source.close();
    source = new EventSource(base + "/v1/handoffs/" + encodeURIComponent(id) + "/events?token=" + encodeURIComponent(tok));
    TYPES.forEach(function (t) { source.addEventListener(t, onEvent); });
    source.addEventListener("status", function (e) { showStatus(JSON.parse(e.data)); });
    source.onerror = function () { if (source.readyState !== 2) status.textContent = T.offline; };
    document.dispatchEvent(new CustomEvent("baton:handoff", {detail: {id: id}}));
  }
  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || null; } catch (err) { return null; }
  }
  function escalate() {
    human.disabled = true; status.textContent = T.connecting;
    if (!transcript.length) transcript.push({role: "customer", text: T.human});
    api("POST", "/demo/handoffs", {conversation_id: "demo-" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8),
      name: cfg.name || null, locale: locale, transcript: transcript, timezone: browserZone()})
      .then(function (r) { attach(r.id, r.customer_token); }, function (e) { human.disabled = false; fail(e); });
  }
  human.addEventListener("click", escalate);
  function callback(channel) {
    var contact = prompt(T.contact) || null;
    api("POST", "/v1/handoffs/" + handoff + "/callback", {channel: channel, contact: contact}).catch(fail);
  }
  callBtn.addEventListener("click", function () { callback("callback"); });
  mailBtn.addEventListener("click", function () { callback("email"); });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    if (handoff) { api("POST", "/v1/handoffs/" + handoff + "/messages", {text: text}).catch(fail); return; }
    say("customer", text); transcript.push({role: "customer", text: text});
    setTimeout(function () { say("ai", T.ai, "AI"); transcript.push({role: "ai", text: T.ai}); }, 300);
  });
  csat.addEventListener("submit", function (e) {
    e.preventDefault();
    var picked = csat.querySelector("input[name=score]:checked");
    if (!picked) return;
    api("POST", "/v1/handoffs/" + handoff + "/csat", {score: Number(picked.value),
      comment: document.getElementById("baton-comment").value || null})
      .then(function () { csat.hidden = true; }, fail);
  });

  say("ai", T.hi, "AI");
  if (!cfg.demo) human.hidden = true;
  if (cfg.handoffId && cfg.token) attach(cfg.handoffId, cfg.token);
  if (cfg.open === "true") setOpen(true);
  window.Baton = {attach: attach, open: function () { setOpen(true); }};
})();
