// kefu staff consoles: what the agent console (/agent) and the trainer console (/trainer) share.
// Sign-in, the staff API, the UI language, and building elements. Text from data is only ever
// put on the page as text (textContent / text nodes), never as markup.
"use strict";

const Kefu = (() => {
  const TOKEN_KEY = "kefu.staff";
  const LANG_KEY = "kefu.console.lang";

  // ---- language ------------------------------------------------------------------------------
  // `?lang=zh|en` (a link from a colleague), then the last choice, then the browser's language
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked === "zh" || asked === "en") localStorage.setItem(LANG_KEY, asked);
  let lang = localStorage.getItem(LANG_KEY) ||
    ((navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en");
  const langListeners = [];

  /** `t({zh: "…", en: "…"})` or `t("zh text", "en text")`: the text in the console's language. */
  function t(zh, en) {
    if (typeof zh === "object" && zh !== null) return lang === "zh" ? zh.zh : zh.en;
    return lang === "zh" ? zh : en;
  }
  function setLang(l) {
    lang = l === "en" ? "en" : "zh";
    localStorage.setItem(LANG_KEY, lang);
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    langListeners.forEach((f) => f(lang));
  }
  function onLang(f) { langListeners.push(f); }

  // ---- elements --------------------------------------------------------------------------------
  /**
   * `el("button.primary", {type: "button", onclick: f, "aria-label": "…"}, "text", child…)`.
   * Strings become text nodes; `on…` attributes become listeners; `class`/`text` are shortcuts.
   */
  function el(spec, attrs, ...children) {
    const [tag, ...classes] = spec.split(".");
    const node = document.createElement(tag || "div");
    if (classes.length) node.className = classes.join(" ");
    if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
      children.unshift(attrs);
      attrs = null;
    }
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
      else if (k === "text") node.textContent = String(v);
      else if (k === "class") node.className = node.className ? node.className + " " + v : v;
      else if (k === "value") node.value = v;
      else if (k === "checked" || k === "disabled" || k === "selected") node[k] = !!v;
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    append(node, children);
    return node;
  }
  function append(node, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  /** Replaces a node's children. */
  function fill(node, ...children) {
    node.replaceChildren();
    return append(node, children);
  }

  // ---- time ------------------------------------------------------------------------------------
  function time(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    const now = new Date();
    const same = d.toDateString() === now.toDateString();
    return same ? d.toLocaleTimeString(lang === "zh" ? "zh-CN" : "en-GB", { hour: "2-digit", minute: "2-digit" })
      : d.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }
  function duration(secs) {
    secs = Math.max(0, Math.round(secs || 0));
    if (secs < 60) return t(`${secs}秒`, `${secs}s`);
    const m = Math.floor(secs / 60), s = secs % 60;
    if (m < 60) return t(`${m}分${s}秒`, `${m}m ${s}s`);
    return t(`${Math.floor(m / 60)}小时${m % 60}分`, `${Math.floor(m / 60)}h ${m % 60}m`);
  }

  // ---- session and API -------------------------------------------------------------------------
  function session() {
    try {
      const s = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null");
      return s && s.expires_at * 1000 > Date.now() ? s : null;
    } catch (_) { return null; }
  }
  function logout() {
    sessionStorage.removeItem(TOKEN_KEY);
    location.reload();
  }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || `HTTP ${status}`);
      this.status = status;
      this.code = body && body.error;
      this.body = body;
    }
  }

  /** Calls the staff API: JSON in and out; an error answer throws an ApiError. */
  async function api(method, path, body) {
    const s = session();
    const headers = { Accept: "application/json" };
    if (s) headers.Authorization = "Bearer " + s.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await resp.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = { message: text }; }
    if (resp.status === 401 && s) {
      sessionStorage.removeItem(TOKEN_KEY);
      toast(t("登录已过期，请重新登录", "Your session ended; sign in again"), "error");
      setTimeout(() => location.reload(), 1500);
    }
    if (!resp.ok) throw new ApiError(resp.status, data);
    return data;
  }

  // ---- photos ----------------------------------------------------------------------------------
  /**
   * A shopper's photo (a message's `image`: {id, content_type, bytes}) of conversation `conv`: a
   * thumbnail fetched with the staff token and shown as a data: URL (the consoles' CSP allows
   * images from nowhere else); a click shows it full size in a dialog.
   */
  function photo(conv, image) {
    const img = el("img.photo-thumb", { alt: t("顾客发送的图片", "Photo from the shopper") });
    const button = el("button.photo", { type: "button", title: t("点击查看大图", "Click to enlarge"),
      "data-image": image.id, onclick: () => enlarge(img) }, img);
    const s = session();
    fetch(`/api/chat/${encodeURIComponent(conv)}/images/${encodeURIComponent(image.id)}`,
      { headers: s ? { Authorization: "Bearer " + s.token } : {} })
      .then((r) => { if (!r.ok) throw new Error("HTTP " + r.status); return r.blob(); })
      .then((b) => new Promise((ok, fail) => {
        const reader = new FileReader();
        reader.onload = () => ok(String(reader.result));
        reader.onerror = fail;
        reader.readAsDataURL(b);
      }))
      .then((url) => { img.src = url; })
      .catch(() => button.replaceWith(el("span.photo-error", t("图片无法显示", "The photo cannot be shown"))));
    return button;
  }
  function enlarge(img) {
    if (!img.src) return;
    const dialog = el("dialog.photo-view", { "aria-label": t("图片", "Photo") },
      el("img", { src: img.src, alt: img.alt }),
      el("div.dialog-actions", el("button", { type: "button", onclick: () => dialog.close() }, t("关闭", "Close"))));
    dialog.addEventListener("click", (e) => { if (e.target === dialog || e.target.tagName === "IMG") dialog.close(); });
    dialog.addEventListener("close", () => dialog.remove());
    document.body.appendChild(dialog);
    dialog.showModal();
  }

  // ---- toasts ----------------------------------------------------------------------------------
  function toast(text, kind) {
    let box = document.getElementById("toasts");
    if (!box) {
      box = el("div", { id: "toasts", role: "status", "aria-live": "polite" });
      document.body.appendChild(box);
    }
    const item = el("div.toast" + (kind ? "." + kind : ""), text);
    box.appendChild(item);
    setTimeout(() => item.remove(), kind === "error" ? 6000 : 3500);
  }

  // ---- page frame and sign-in ------------------------------------------------------------------
  /**
   * Starts a console: shows the sign-in form until a staff member with one of `roles` signs in,
   * then calls `start(me, root)` with the page's main element.
   * `title` is `{zh, en}`; `header(me)` may return extra header controls.
   */
  function boot({ roles, title, start, header }) {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    const root = document.getElementById("app");
    const me = session();
    if (me && roles.includes(me.role)) {
      document.title = t(title) + " · kefu";
      const bar = el("header.topbar",
        el("h1", el("span.brand", "kefu 客服"), " ", el("span.page-title", t(title))),
        el("div.topbar-tools",
          header ? header(me) : null,
          langSwitch(),
          el("span.who", { title: me.name }, me.display_name || me.name),
          el("button.link", { type: "button", onclick: logout }, t("退出", "Sign out"))));
      const main = el("main", { id: "main" });
      fill(root, bar, main);
      start(me, main);
    } else {
      if (me) sessionStorage.removeItem(TOKEN_KEY);
      loginForm(root, roles, title);
    }
  }

  function langSwitch() {
    const sel = el("select.lang", { "aria-label": t("界面语言", "Interface language"),
      onchange: (e) => { setLang(e.target.value); location.reload(); } },
      el("option", { value: "zh", selected: lang === "zh" }, "中文"),
      el("option", { value: "en", selected: lang === "en" }, "English"));
    return sel;
  }

  function loginForm(root, roles, title) {
    document.title = t("登录", "Sign in") + " · " + t(title) + " · kefu";
    const error = el("p.form-error", { role: "alert", id: "login-error" });
    const name = el("input", { id: "login-name", name: "name", autocomplete: "username", required: true });
    const password = el("input", { id: "login-password", name: "password", type: "password",
      autocomplete: "current-password", required: true });
    const button = el("button.primary", { type: "submit", id: "login-submit" }, t("登录", "Sign in"));
    const form = el("form.login", { "aria-labelledby": "login-title" },
      el("h1", { id: "login-title" }, "kefu 客服 · ", t(title)),
      el("label", { for: "login-name" }, t("账号", "User name")), name,
      el("label", { for: "login-password" }, t("密码", "Password")), password,
      error, button, langSwitch());
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      error.textContent = "";
      button.disabled = true;
      try {
        const login = await api("POST", "/api/login", { name: name.value.trim(), password: password.value });
        if (!roles.includes(login.role)) {
          error.textContent = t("这个账号没有使用此控制台的权限", "This account may not use this console");
          return;
        }
        sessionStorage.setItem(TOKEN_KEY, JSON.stringify(login));
        location.reload();
      } catch (err) {
        error.textContent = err.status === 401 ? t("账号或密码不正确", "Wrong user name or password")
          : err.status === 429 ? t("尝试次数过多，请 15 分钟后再试", "Too many attempts; try again in 15 minutes")
          : err.message;
      } finally {
        button.disabled = false;
      }
    });
    fill(root, el("div.login-page", form));
    name.focus();
  }

  return { t, lang: () => lang, setLang, onLang, el, append, fill, time, duration, session, logout, api, ApiError, toast, boot, photo };
})();
