/*
 * kefu storefront chat widget. Plain JavaScript, no build step, no dependencies.
 *
 *   <script src="https://kefu.example.com/widget.js" data-lang="auto" async></script>
 *
 * data-lang    "auto" (follows <html lang>: zh* -> Chinese, else English), "zh" or "en"
 * data-token   the signed-in shopper's token (HS256 JWT signed with kefu's token_secret)
 * data-server  kefu's address when it is not where this file was loaded from
 * data-product the sku of the product on this page (a product page), so "这件" means it
 * data-order   the order number of the order on this page (an order page)
 *
 * The page's API (docs/widget.md):
 *   window.kefu.open() / window.kefu.close()             // the store's own "chat with us" button
 *   window.kefu.setContext({product: "QM-WO-004"})      // or {order: "…"}, {} for neither
 * and before this file has loaded (it is async) the same calls queued with
 *   (window.kefu = window.kefu || []).push(["setContext", {product: "QM-WO-004"}]);  // or ["open"]
 *
 * It speaks the shopper protocol of docs/protocol.md over /ws/chat. Everything is drawn inside a
 * Shadow DOM, so the store's CSS cannot reach it and its CSS cannot reach the store. Text that
 * comes from the server is only ever put on the page as text (textContent / text nodes).
 */
(function () {
  "use strict";
  if (window.__kefuWidget) return;
  window.__kefuWidget = true;

  // ---- configuration ------------------------------------------------------------------------

  var script =
    document.currentScript ||
    document.querySelector('script[src$="/widget.js"], script[src="widget.js"]');
  var data = (script && script.dataset) || {};
  var token = data.token || null;

  function serverOrigin() {
    var base = data.server || (script && script.src) || location.href;
    try {
      return new URL(base, location.href).origin;
    } catch (e) {
      return location.origin;
    }
  }
  var wsUrl = serverOrigin().replace(/^http/, "ws") + "/ws/chat";

  function autoLang() {
    var l = (document.documentElement.getAttribute("lang") || navigator.language || "").toLowerCase();
    return l.indexOf("zh") === 0 ? "zh" : "en";
  }
  function store(key, value) {
    try {
      if (value === undefined) return localStorage.getItem(key);
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch (e) {
      /* storage may be disabled: the widget works without it, it just cannot resume */
    }
    return null;
  }
  var lang = data.lang === "zh" || data.lang === "en" ? data.lang : store("kefu:lang") || autoLang();

  // What page the shopper is on (protocol: `context` in hello, the `context` frame): a product's
  // sku, an order number, the URL. Only these names, only non-empty strings within the protocol's
  // limits (a longer one is left out: the server refuses a longer sku or order number).
  var MAX_CONTEXT = { product: 64, order: 64, url: 2048 };
  function cleanContext(c) {
    var out = {};
    if (!c || typeof c !== "object") return out;
    Object.keys(MAX_CONTEXT).forEach(function (k) {
      var v = c[k];
      if (typeof v === "number") v = String(v);
      if (typeof v !== "string") return;
      v = v.trim();
      if (v && v.length <= MAX_CONTEXT[k]) out[k] = v;
    });
    return out;
  }
  function hasContext(c) {
    return Object.keys(c).length > 0;
  }
  // the page's context; without an explicit url, the page's address when it is sent
  var pageContext = cleanContext({ product: data.product, order: data.order });
  function currentContext() {
    var c = {};
    Object.keys(pageContext).forEach(function (k) {
      c[k] = pageContext[k];
    });
    if (!c.url && location.href.length <= MAX_CONTEXT.url) c.url = location.href;
    return c;
  }

  // the conversation id is kept per shopper token (a hash, never the token itself)
  function hash(s) {
    var h = 0x811c9dc5;
    for (var i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h.toString(16);
  }
  function convKey() {
    return "kefu:conv:" + (token ? hash(token) : "guest");
  }

  // ---- texts --------------------------------------------------------------------------------

  var T = {
    zh: {
      bubble: "在线客服",
      title: "在线客服",
      close: "关闭",
      end: "结束会话",
      switchLang: "English",
      switchLangLabel: "Switch to English",
      log: "聊天记录",
      input: "输入消息",
      placeholder: "请输入您的问题，回车发送",
      send: "发送",
      you: "我",
      bot: "智能客服",
      agent: "人工客服",
      system: "系统消息",
      pending: "发送中…",
      connecting: "正在连接…",
      reconnecting: "连接已断开，正在重新连接…",
      stateBot: "智能客服为您服务",
      stateWaiting: "正在为您转接人工客服…",
      stateAgent: "已为您转接人工客服",
      stateAgentNamed: "已为您转接人工客服「{agent}」",
      stateClosed: "本次会话已结束",
      typing: "{agent} 正在输入…",
      typingAnon: "客服正在输入…",
      greeting: "您好，欢迎光临！请问有什么可以帮您？可以问订单、物流、退换货或商品问题。",
      recalled: "客服撤回了一条消息",
      ticketReply: "客服回复了您的留言（{id}）",
      newChat: "开始新的会话",
      leaveTitle: "给客服留言",
      leaveText: "留言内容",
      leaveContact: "联系方式（选填）",
      leaveSend: "提交留言",
      rateTitle: "请为本次服务评分",
      rateComment: "想说的话（选填）",
      rateSend: "提交评价",
      rateStar: "{n} 星：{label}",
      rateGiven: "您的评分：{stars}（{label}）",
      orderNo: "订单号",
      status: "状态",
      items: "商品",
      total: "合计",
      tracking: "最新物流",
      price: "价格",
      colors: "颜色",
      sizes: "尺码",
      inStock: "有货",
      outOfStock: "暂时缺货",
      track: "查物流",
      trackText: "查物流 {no}",
      trackLabel: "查物流：订单 {no}",
      returnOrder: "退货",
      returnText: "退货 {no}",
      returnLabel: "退货：订单 {no}",
      ask: "问这件",
      askLabel: "问这件：{name}",
      sep: "、",
      errRate: "您发送得太快了，请稍后再试，消息会自动重发。",
      errStorage: "消息暂时没能保存，稍后会自动重发。",
      errTooLong: "消息太长了，请分几次发送。",
      errEmpty: "不能发送空消息。",
      errToken: "登录信息无效，您现在以访客身份咨询（查订单需提供订单号和手机号后4位）。",
      signedIn: "已登录",
      guest: "访客",
      created: "下单时间",
      errRating: "评分没有成功，请选择 1–5 星。",
      errOther: "出了点问题，请稍后再试。",
      photo: "发送图片",
      photoAlt: "图片",
      uploading: "上传中…",
      photoFailed: "未发送：{why}",
      errImageType: "只能发送 JPEG、PNG、WebP 或 GIF 格式的图片",
      errImageBig: "图片太大了，请选择 {mb} MB 以内的图片",
      errImageMany: "本次对话的图片已达上限",
      errImageRate: "图片发送太频繁，请稍后再试",
      errImageClosed: "本次会话已结束，请开始新的会话后再发送",
      errImageWait: "正在连接客服，请稍后再发送图片",
      errImageFailed: "图片没有发送成功，请稍后重试",
      photoGone: "图片无法显示",
    },
    en: {
      bubble: "Chat with us",
      title: "Customer service",
      close: "Close",
      end: "End chat",
      switchLang: "中文",
      switchLangLabel: "切换到中文",
      log: "Conversation",
      input: "Your message",
      placeholder: "Type your question, Enter to send",
      send: "Send",
      you: "You",
      bot: "Assistant",
      agent: "Agent",
      system: "Notice",
      pending: "Sending…",
      connecting: "Connecting…",
      reconnecting: "Connection lost, reconnecting…",
      stateBot: "Our assistant is here to help",
      stateWaiting: "Connecting you to an agent…",
      stateAgent: "You're now chatting with an agent",
      stateAgentNamed: "You're now chatting with {agent}",
      stateClosed: "This chat has ended",
      typing: "{agent} is typing…",
      typingAnon: "The agent is typing…",
      greeting: "Hi, welcome! How can we help? Ask about orders, delivery, returns or products.",
      recalled: "The agent recalled a message",
      ticketReply: "An agent answered your message ({id})",
      newChat: "Start a new chat",
      leaveTitle: "Leave a message",
      leaveText: "Your message",
      leaveContact: "Contact (optional)",
      leaveSend: "Send message",
      rateTitle: "How did we do?",
      rateComment: "Anything to add? (optional)",
      rateSend: "Send rating",
      rateStar: "{n} stars: {label}",
      rateGiven: "Your rating: {stars} ({label})",
      orderNo: "Order",
      status: "Status",
      items: "Items",
      total: "Total",
      tracking: "Latest tracking",
      price: "Price",
      colors: "Colours",
      sizes: "Sizes",
      inStock: "In stock",
      outOfStock: "Out of stock",
      track: "Track",
      trackText: "Track order {no}",
      trackLabel: "Track order {no}",
      returnOrder: "Return",
      returnText: "Return order {no}",
      returnLabel: "Return order {no}",
      ask: "Ask about this",
      askLabel: "Ask about {name}",
      sep: ", ",
      errRate: "You're sending messages too fast. Please wait a moment; we'll resend automatically.",
      errStorage: "Your message couldn't be saved just now; we'll resend it shortly.",
      errTooLong: "That message is too long. Please split it up.",
      errEmpty: "Empty messages can't be sent.",
      errToken: "Your sign-in wasn't accepted, so you're chatting as a guest (for an order, give its number and the last 4 digits of its phone number).",
      signedIn: "Signed in",
      guest: "Guest",
      created: "Ordered",
      errRating: "The rating didn't go through; please pick 1 to 5 stars.",
      errOther: "Something went wrong. Please try again later.",
      photo: "Send a photo",
      photoAlt: "Photo",
      uploading: "Uploading…",
      photoFailed: "Not sent: {why}",
      errImageType: "only JPEG, PNG, WebP or GIF images can be sent",
      errImageBig: "the photo is too large; please pick one under {mb} MB",
      errImageMany: "this chat has reached its limit of photos",
      errImageRate: "too many photos just now; please try again later",
      errImageClosed: "this chat has ended; start a new one to send it",
      errImageWait: "still connecting; please send the photo in a moment",
      errImageFailed: "the photo couldn't be sent; please try again",
      photoGone: "This photo can't be shown",
    },
  };
  function t(key, params) {
    var s = (T[lang] && T[lang][key]) || T.en[key] || key;
    if (params) {
      Object.keys(params).forEach(function (k) {
        s = s.split("{" + k + "}").join(String(params[k]));
      });
    }
    return s;
  }

  // ---- DOM helpers (text only, never markup from data) --------------------------------------

  // elements whose text or attribute follows the UI language: [element, key, attribute?, params?]
  // (a value is a key, or [key, params] for a text with placeholders)
  var i18n = [];
  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === undefined || v === null || v === false) return;
        if (k === "text") el.textContent = v;
        else if (k === "i18n" || k.indexOf("i18n-") === 0) {
          var key = Array.isArray(v) ? v[0] : v;
          var params = Array.isArray(v) ? v[1] : null;
          var attr = k === "i18n" ? null : k.slice(5);
          if (attr) el.setAttribute(attr, t(key, params));
          else el.textContent = t(key, params);
          i18n.push([el, key, attr, params]);
        } else if (k.indexOf("on") === 0) el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? "" : v);
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return el;
  }
  // The store's timezone (welcome's `timezone`, "+08:00"): card times are shown in it, in the
  // panel's language, wherever the shopper is ("11月9日 10:21" / "9 Nov 10:21"; with the year
  // when it is not this year's).
  var storeTz = "+08:00";
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function tzMinutes(tz) {
    var m = /^([+-])(\d{2}):?(\d{2})$/.exec(tz || "");
    return m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
  }
  function when(iso) {
    var ms = Date.parse(iso);
    if (!isFinite(ms)) return String(iso || "");
    var off = tzMinutes(storeTz) * 60000;
    var d = new Date(ms + off);
    var now = new Date(Date.now() + off);
    var hm = ("0" + d.getUTCHours()).slice(-2) + ":" + ("0" + d.getUTCMinutes()).slice(-2);
    var thisYear = d.getUTCFullYear() === now.getUTCFullYear();
    if (lang === "zh") return (thisYear ? "" : d.getUTCFullYear() + "年") + (d.getUTCMonth() + 1) + "月" + d.getUTCDate() + "日 " + hm;
    return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + (thisYear ? "" : " " + d.getUTCFullYear()) + " " + hm;
  }
  // elements showing a time, redrawn when the language changes: [element, iso, text after it]
  var timed = [];
  function timeText(iso, after) {
    var el = h("span", { class: "when", "data-at": String(iso), text: when(iso) + (after ? " " + after : "") });
    timed.push([el, iso, after]);
    return el;
  }
  function money(n) {
    var v = Number(n);
    return isFinite(v) ? "¥" + v.toFixed(2) : String(n);
  }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(b);
    return Array.prototype.map
      .call(b, function (x) {
        return (x + 256).toString(16).slice(1);
      })
      .join("");
  }

  // ---- styles (static) ----------------------------------------------------------------------

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:-apple-system,BlinkMacSystemFont,'PingFang SC','Microsoft YaHei','Segoe UI',Roboto,sans-serif}",
    ".bubble{position:fixed;right:20px;bottom:20px;z-index:2147483000;height:56px;min-width:56px;padding:0 18px;border:0;border-radius:28px;background:#2f6f5e;color:#fff;font-size:15px;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25)}",
    ".bubble:focus-visible,button:focus-visible,textarea:focus-visible,input:focus-visible{outline:3px solid #f2b84b;outline-offset:2px}",
    ".panel{position:fixed;right:20px;bottom:88px;z-index:2147483001;width:380px;max-width:calc(100vw - 16px);height:600px;max-height:calc(100vh - 108px);display:flex;flex-direction:column;background:#fff;color:#222;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden;font-size:14px;line-height:1.5}",
    ".panel[hidden]{display:none}",
    "header{display:flex;align-items:center;gap:6px;padding:10px 12px;background:#2f6f5e;color:#fff}",
    "header .titles{flex:1;min-width:0}",
    "header h2{margin:0;font-size:16px;font-weight:600}",
    "header .sub{font-size:12px;opacity:.9;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    "header button{background:transparent;color:#fff;border:1px solid rgba(255,255,255,.6);border-radius:6px;padding:4px 8px;font-size:12px;cursor:pointer}",
    "header .x{border:0;font-size:20px;line-height:1;padding:2px 8px}",
    ".identity{display:inline-block;margin-left:6px;padding:0 6px;border:1px solid rgba(255,255,255,.7);border-radius:8px;font-size:11px;vertical-align:middle}",
    ".conn{padding:4px 12px;font-size:12px;background:#fff4d6;color:#6b4e00}",
    ".conn[hidden]{display:none}",
    ".log{flex:1;overflow-y:auto;margin:0;padding:12px;list-style:none;background:#f5f6f4}",
    ".msg{margin:0 0 10px;max-width:85%;clear:both}",
    ".msg .who{font-size:12px;color:#666;margin-bottom:2px}",
    ".msg .text{padding:8px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word;overflow-wrap:anywhere}",
    ".msg.bot .text{background:#fff;border:1px solid #e2e4e0}",
    ".msg.agent .text{background:#e6f2ee;border:1px solid #bcdcd1}",
    ".msg.shopper{margin-left:auto;text-align:right}",
    ".msg.shopper .text{background:#2f6f5e;color:#fff;display:inline-block;text-align:left}",
    ".msg.shopper.pending .text{opacity:.6}",
    ".msg .state{font-size:11px;color:#888}",
    ".msg.system{max-width:100%;text-align:center;font-size:12px;color:#666}",
    ".msg.system .text{padding:2px 8px;background:transparent}",
    ".msg.error .text{color:#a33}",
    ".msg .ticket-reply{font-size:12px;color:#2f6f5e;margin-bottom:2px}.msg.recalled .text{font-style:italic}",
    ".chips{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px}",
    ".chips button,.act{border:1px solid #2f6f5e;background:#fff;color:#2f6f5e;border-radius:14px;padding:4px 10px;font-size:13px;cursor:pointer}",
    ".card{margin-top:6px;padding:8px 10px;background:#fff;border:1px solid #d9dcd6;border-radius:8px;font-size:13px}",
    ".card h3{margin:0 0 4px;font-size:14px}",
    ".card dl{margin:0;display:grid;grid-template-columns:auto 1fr;gap:2px 8px}",
    ".card dt{color:#777}.card dd{margin:0;overflow-wrap:anywhere}",
    ".card ul{margin:0;padding-left:16px}",
    ".card .acts{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px}",
    ".form{margin-top:6px;padding:8px 10px;background:#fff;border:1px solid #d9dcd6;border-radius:8px}",
    ".form label{display:block;font-size:12px;color:#555;margin:6px 0 2px}",
    ".form textarea,.form input{width:100%;padding:6px;border:1px solid #bbb;border-radius:6px;font-size:14px}",
    ".form .primary{margin-top:8px}",
    ".stars{display:flex;gap:4px}",
    ".stars button{background:none;border:0;font-size:26px;line-height:1;color:#ccc;cursor:pointer;padding:2px}",
    ".stars button.on{color:#f2a100}",
    ".scale{font-size:12px;color:#555;min-height:18px}",
    ".typing{padding:0 12px 4px;font-size:12px;color:#666;background:#f5f6f4;min-height:0}",
    ".typing:empty{display:none}",
    "form.composer{display:flex;gap:8px;padding:8px;border-top:1px solid #e2e4e0;background:#fff}",
    ".composer textarea{flex:1;resize:none;height:44px;padding:8px;border:1px solid #bbb;border-radius:8px;font-size:14px}",
    ".primary{background:#2f6f5e;color:#fff;border:0;border-radius:8px;padding:0 14px;font-size:14px;cursor:pointer;min-height:36px}",
    ".primary:disabled{opacity:.5;cursor:default}",
    ".photo-btn{background:#fff;border:1px solid #bbb;border-radius:8px;padding:0 8px;font-size:18px;cursor:pointer;min-height:36px}",
    ".photo-btn:disabled{opacity:.5;cursor:default}",
    ".msg .photo{display:inline-block;padding:3px;border-radius:10px;background:#2f6f5e;cursor:zoom-in}",
    ".msg .photo img{display:block;max-width:180px;max-height:180px;min-width:40px;min-height:40px;border-radius:8px;background:#e8ebe6}",
    ".msg .photo.big{cursor:zoom-out}.msg .photo.big img{max-width:100%;max-height:none}",
    ".msg.failed .photo{opacity:.6}.msg.failed .state{color:#a33}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    "@media (max-width:480px){.panel{right:0;left:0;bottom:0;width:100%;max-width:100%;height:100%;max-height:100%;border-radius:0}.bubble{right:12px;bottom:12px}.panel:not([hidden])+.bubble{display:none}}",
  ].join("\n");

  // ---- the panel ----------------------------------------------------------------------------

  var host = h("div", { id: "kefu-widget" });
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  root.appendChild(h("style", { text: CSS }));

  var bubble = h("button", {
    class: "bubble",
    type: "button",
    "aria-expanded": "false",
    "aria-controls": "kefu-panel",
    "aria-haspopup": "dialog",
    i18n: "bubble",
    onclick: function () {
      if (panel.hidden) openPanel();
      else closePanel();
    },
  });
  var sub = h("div", { class: "sub", "aria-live": "polite" });
  var conn = h("div", { class: "conn", role: "status", hidden: true });
  var log = h("ol", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "i18n-aria-label": "log" });
  var typingLine = h("div", { class: "typing", "aria-live": "polite" });
  var input = h("textarea", { id: "kefu-input", rows: "2", maxlength: "2000", "i18n-placeholder": "placeholder" });
  var sendBtn = h("button", { type: "submit", class: "primary", i18n: "send" });
  // a photo (a damaged item, say): chosen here, uploaded over HTTP, then sent into the chat
  var photoInput = h("input", { type: "file", id: "kefu-photo-file", accept: "image/jpeg,image/png,image/webp,image/gif", hidden: true, onchange: onPhotoPicked });
  var photoBtn = h("button", { type: "button", class: "photo-btn", id: "kefu-photo", "i18n-aria-label": "photo", "i18n-title": "photo", text: "📷", onclick: function () { photoInput.click(); } });
  var composer = h("form", { class: "composer", onsubmit: onSubmit }, [
    h("label", { class: "sr", for: "kefu-input", i18n: "input" }),
    photoBtn,
    photoInput,
    input,
    sendBtn,
  ]);
  var langBtn = h("button", {
    type: "button",
    i18n: "switchLang",
    "i18n-aria-label": "switchLangLabel",
    onclick: function () {
      setLang(lang === "zh" ? "en" : "zh");
    },
  });
  var endBtn = h("button", { type: "button", i18n: "end", onclick: endChat });
  var closeBtn = h("button", { type: "button", class: "x", "i18n-aria-label": "close", text: "×", onclick: closePanel });
  var titleEl = h("h2", { id: "kefu-title", i18n: "title" });
  // 已登录 / 访客: who the shopper is to kefu (a refused token makes them a guest)
  var who_ = h("span", { class: "identity", i18n: token ? "signedIn" : "guest" });
  function showIdentity() {
    var key = token ? "signedIn" : "guest";
    who_.textContent = t(key);
    who_.setAttribute("data-identity", token ? "signed-in" : "guest");
    i18n.forEach(function (r) {
      if (r[0] === who_) r[1] = key;
    });
  }
  var panel = h("div", { class: "panel", id: "kefu-panel", role: "dialog", "aria-labelledby": "kefu-title", hidden: true }, [
    h("header", null, [h("div", { class: "titles" }, [h("div", null, [titleEl, who_]), sub]), langBtn, endBtn, closeBtn]),
    conn,
    log,
    typingLine,
    composer,
  ]);
  root.appendChild(panel);
  root.appendChild(bubble);

  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") {
      e.preventDefault();
      closePanel();
    }
  });
  input.addEventListener("keydown", function (e) {
    // Enter sends, Shift+Enter is a new line; never while an input method is composing
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      onSubmit(e);
    }
  });
  input.addEventListener("input", sendTyping);

  function mount() {
    document.body.appendChild(host);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  function openPanel() {
    panel.hidden = false;
    bubble.setAttribute("aria-expanded", "true");
    if (!ws) connect();
    scrollDown();
    input.focus();
  }
  function closePanel() {
    panel.hidden = true;
    bubble.setAttribute("aria-expanded", "false");
    bubble.focus();
  }
  function setLang(l) {
    lang = l;
    store("kefu:lang", l);
    i18n.forEach(function (r) {
      if (r[2]) r[0].setAttribute(r[2], t(r[1], r[3]));
      else r[0].textContent = t(r[1], r[3]);
    });
    timed.forEach(function (r) {
      r[0].textContent = when(r[1]) + (r[2] ? " " + r[2] : "");
    });
    showState();
  }
  // The newest bot reply when it carries cards: while it is the last thing in the log, the log
  // scrolls to its start rather than to the bottom when it is taller than the log, so its
  // question ("请问是哪一个？") stays in view above the cards.
  var readFrom = null;
  function scrollDown() {
    var bottom = log.scrollHeight;
    if (readFrom && readFrom === log.lastElementChild) {
      var start = readFrom.getBoundingClientRect().top - log.getBoundingClientRect().top + log.scrollTop - 8;
      log.scrollTop = Math.min(bottom - log.clientHeight, Math.max(0, start));
    } else log.scrollTop = bottom;
  }

  // ---- conversation state -------------------------------------------------------------------

  var ws = null;
  var welcomed = false; // the current connection got `welcome`
  var attempt = 0; // reconnect attempts since the last welcome
  var reconnectTimer = null;
  var resendTimer = null;
  var convId = store(convKey()) || null;
  var convState = null;
  var agentName = null;
  var pending = []; // [{id, text, context, li}] sent but not acknowledged, in order
  var tokenRefused = false; // the server refused data-token (bad_token): a guest now
  var noContext = false; // the server refused a frame with a context: send none from now on
  var typingTimer = null;
  var lastTyping = 0;

  function connect() {
    clearTimeout(reconnectTimer);
    welcomed = false;
    showConn(attempt > 0 ? "reconnecting" : "connecting");
    var sock;
    try {
      sock = new WebSocket(wsUrl);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    ws = sock;
    sock.onopen = function () {
      hello();
    };
    sock.onmessage = function (ev) {
      if (sock !== ws) return;
      var msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      handle(msg);
    };
    sock.onclose = function () {
      if (sock !== ws) return; // replaced on purpose
      welcomed = false;
      scheduleReconnect();
    };
  }
  function scheduleReconnect() {
    showConn("reconnecting");
    // 1 s, 2 s, 4 s … up to 30 s, with some jitter so a restarted server is not stampeded
    var delay = Math.min(30000, 1000 * Math.pow(2, attempt)) * (0.75 + Math.random() * 0.5);
    attempt++;
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(connect, delay);
  }
  window.addEventListener("online", function () {
    if (ws && !welcomed) {
      attempt = 0;
      restart();
    }
  });
  // drop the current socket on purpose and open a fresh one at once
  function restart() {
    var old = ws;
    ws = null;
    if (old) {
      try {
        old.close();
      } catch (e) {}
    }
    connect();
  }
  function send(frame) {
    if (ws && ws.readyState === 1) {
      ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }
  function hello() {
    var frame = { type: "hello", lang: lang };
    if (token) frame.token = token;
    if (convId) frame.resume = convId;
    if (!noContext) frame.context = currentContext();
    send(frame);
  }
  function messageFrame(p) {
    if (p.image) return { type: "image", id: p.id, image: p.image };
    var frame = { type: "message", id: p.id, text: p.text };
    if (p.context && !noContext) frame.context = p.context;
    return frame;
  }
  // the page changed (window.kefu.setContext): remembered for the next hello, and told now
  function setContext(c) {
    pageContext = cleanContext(c);
    if (welcomed && !noContext) send({ type: "context", context: currentContext() });
  }
  function forgetConversation() {
    convId = null;
    store(convKey(), null);
  }

  function handle(m) {
    switch (m.type) {
      case "welcome":
        return onWelcome(m);
      case "ack":
        return onAck(m.id);
      case "reply":
        return onReply(m);
      case "recalled":
        return recalled(log.querySelector('li[data-message-id="' + Number(m.message_id) + '"]'));
      case "status":
        convState = m.state;
        if (m.state === "agent") {
          agentName = m.agent || agentName;
          // an agent is here now: an offer to leave a message that was not taken is moot
          Array.prototype.forEach.call(log.querySelectorAll("form.leave"), function (f) {
            if (!f.elements[0].disabled) f.parentNode.removeChild(f);
          });
        } else agentName = null;
        if (m.state === "closed") offerNewChat();
        return showState();
      case "typing":
        return showTyping(m.agent);
      case "ticket":
        // the server's reply that follows confirms it, with the ticket number (one line, kept
        // in the transcript)
        return;
      case "rating_request":
        return showRating(m.scale || []);
      case "error":
        return onError(m.code, m.message);
    }
  }

  function onWelcome(m) {
    welcomed = true;
    if (typeof m.timezone === "string" && /^[+-]\d{2}:?\d{2}$/.test(m.timezone)) storeTz = m.timezone;
    showIdentity();
    attempt = 0;
    showConn(null);
    convId = m.conversation_id;
    store(convKey(), convId);
    // Rebuild the list from the server's history: shopper messages are matched by client id, so
    // one that was pending and turns out to be stored is shown once, as delivered.
    var stored = {};
    var history = m.history || [];
    history.forEach(function (item) {
      if (item.client_id) stored[item.client_id] = true;
    });
    pending = pending.filter(function (p) {
      return !stored[p.id];
    });
    // (the others' messages have no ids: the list is replaced by the history, not merged)
    while (log.firstChild) log.removeChild(log.firstChild);
    readFrom = null;
    // a refused data-token stays said (the welcome rebuilds the log), so the shopper knows why
    // their orders are not found
    if (tokenRefused) addNotice(t("errToken"), true).classList.add("token");
    if (history.length === 0) addNotice(t("greeting"));
    history.forEach(function (item) {
      if (item.from === "shopper" && item.image) addPhoto(null, item.image, item.client_id, false);
      else if (item.from === "shopper") addShopper(item.text, item.client_id, false);
      else agentLine(addMessage(item.from, item.text, null), item);
    });
    pending.forEach(function (p) {
      log.appendChild(p.li);
    });
    scrollDown();
    flushPending();
  }

  function onAck(id) {
    for (var i = 0; i < pending.length; i++) {
      if (pending[i].id === id) {
        markDelivered(pending[i].li);
        pending.splice(i, 1);
        break;
      }
    }
    if (pending.length === 0) clearTimeout(resendTimer);
  }

  // send (again) every message still waiting for its ack, with the same ids
  function flushPending() {
    clearTimeout(resendTimer);
    if (!welcomed || pending.length === 0) return;
    pending.forEach(function (p) {
      send(messageFrame(p));
    });
    // no ack within 15 s: send again (the server stores a message once per id)
    resendTimer = setTimeout(flushPending, 15000);
  }
  function resendLater(ms) {
    clearTimeout(resendTimer);
    resendTimer = setTimeout(flushPending, ms);
  }

  function onError(code, msg) {
    switch (code) {
      case "rate_limited":
        addNotice(t("errRate"), true);
        return resendLater(20000);
      case "storage_unavailable":
        addNotice(t("errStorage"), true);
        return resendLater(5000);
      case "unknown_conversation":
        // the conversation is gone (or not this shopper's): start a new one on this connection
        forgetConversation();
        return hello();
      case "conversation_closed":
        // messages typed after the end start a new conversation; they stay pending until then
        forgetConversation();
        return restart();
      case "bad_token":
        // the store's developer sees why in the console; the shopper sees it in the panel
        if (window.console) console.warn("kefu widget: data-token refused (" + (msg || "bad_token") + "); the shopper continues as a guest");
        tokenRefused = true;
        token = null;
        showIdentity();
        convId = store(convKey()) || null;
        return hello();
      case "too_long":
        return addNotice(t("errTooLong"), true);
      case "empty_message":
        return addNotice(t("errEmpty"), true);
      case "bad_rating":
        return addNotice(t("errRating"), true);
      case "bad_image":
        // the photo is not in this conversation (a new one began meanwhile): it was not sent
        for (var i = 0; i < pending.length; i++) {
          if (pending[i].image) {
            photoFailed(pending[i].li, t("errImageFailed"));
            pending.splice(i, 1);
            break;
          }
        }
        return;
      case "not_started":
      case "already_started":
        return;
      case "malformed_frame":
        // the only frames of ours a server could find malformed are those with a context (a
        // server that predates it, or a value it will not take): carry on without contexts
        if (noContext) return addNotice(t("errOther"), true);
        noContext = true;
        if (!welcomed) return hello();
        return flushPending();
      default:
        return addNotice(t("errOther"), true);
    }
  }

  // ---- what the shopper does ----------------------------------------------------------------

  function onSubmit(e) {
    if (e) e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    sendText(text);
    input.focus();
  }
  // context: what a tapped card identifies ({order} or {product}), sent with the message
  function sendText(text, context) {
    var id = uuid();
    var li = addShopper(text, id, true);
    var p = { id: id, text: text, li: li };
    if (context) context = cleanContext(context);
    if (context && hasContext(context)) p.context = context;
    pending.push(p);
    if (convState === "closed") {
      // a new question after the end: a new conversation (the message goes after its welcome)
      convState = null;
      forgetConversation();
      attempt = 0;
      return restart();
    }
    if (!ws) return connect();
    if (welcomed) {
      send(messageFrame(p));
      clearTimeout(resendTimer);
      resendTimer = setTimeout(flushPending, 15000);
    }
  }
  function sendTyping() {
    var now = Date.now();
    if (welcomed && now - lastTyping > 2000 && input.value) {
      lastTyping = now;
      send({ type: "typing" });
    }
  }
  function endChat() {
    if (welcomed && convState !== "closed") send({ type: "end" });
  }
  function offerNewChat() {
    var btn = h("button", {
      type: "button",
      class: "act",
      i18n: "newChat",
      onclick: function () {
        btn.disabled = true;
        convState = null;
        forgetConversation();
        attempt = 0;
        restart();
        input.focus();
      },
    });
    var li = h("li", { class: "msg system" }, [btn]);
    log.appendChild(li);
    scrollDown();
  }

  // ---- drawing messages ---------------------------------------------------------------------

  function showConn(key) {
    conn.hidden = !key;
    conn.textContent = key ? t(key) : "";
  }
  function showState() {
    var s = "";
    if (convState === "bot") s = t("stateBot");
    else if (convState === "waiting_agent") s = t("stateWaiting");
    else if (convState === "agent") s = agentName ? t("stateAgentNamed", { agent: agentName }) : t("stateAgent");
    else if (convState === "closed") s = t("stateClosed");
    sub.textContent = s;
    endBtn.disabled = convState === "closed";
  }
  function showTyping(agent) {
    typingLine.textContent = agent ? t("typing", { agent: agent }) : t("typingAnon");
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () {
      typingLine.textContent = "";
    }, 5000);
  }
  function who(from, agent) {
    if (from === "agent") return agent || t("agent");
    return t(from === "bot" ? "bot" : "system");
  }
  function addMessage(from, text, agent) {
    var kind = from === "agent" || from === "bot" ? from : "system";
    var li = h("li", { class: "msg " + kind }, [
      kind === "system" ? h("span", { class: "sr", text: t("system") + ": " }) : h("div", { class: "who", text: who(from, agent) }),
      h("div", { class: "text", text: String(text) }),
    ]);
    log.appendChild(li);
    scrollDown();
    return li;
  }
  // An agent's line: its id (a `recalled` frame names it), recalled (no text, only that it was),
  // or the answer to a message the shopper left (the ticket's number above it).
  function agentLine(li, item) {
    if (item.message_id) li.setAttribute("data-message-id", String(Number(item.message_id)));
    if (item.ticket) li.insertBefore(h("div", { class: "ticket-reply", i18n: ["ticketReply", { id: String(item.ticket) }] }), li.lastChild);
    if (item.recalled) recalled(li);
    return li;
  }
  function recalled(li) {
    if (!li) return;
    li.className = "msg system recalled";
    while (li.firstChild) li.removeChild(li.firstChild);
    li.appendChild(h("div", { class: "text", i18n: "recalled" }));
  }
  function addNotice(text, isError) {
    var li = addMessage("system", text, null);
    if (isError) li.classList.add("error");
    return li;
  }
  function addShopper(text, id, isPending) {
    readFrom = null;
    var li = h("li", { class: "msg shopper" + (isPending ? " pending" : "") }, [
      h("span", { class: "sr", text: t("you") + ": " }),
      h("div", { class: "text", text: String(text) }),
    ]);
    if (id) li.setAttribute("data-id", id);
    if (isPending) li.appendChild(h("div", { class: "state", text: t("pending") }));
    log.appendChild(li);
    scrollDown();
    return li;
  }
  // A photo in the log: the shopper's own file (a data: URL read here) or a stored one (`image`,
  // fetched with the same credential as the upload). Only data: URLs, which a store's CSP
  // allows more often than blob: ones. A tap shows it larger.
  function addPhoto(file, image, id, isPending) {
    readFrom = null;
    var img = h("img", { alt: t("photoAlt") });
    var frame = h("button", { type: "button", class: "photo", "i18n-aria-label": "photoAlt", onclick: function () { frame.classList.toggle("big"); } }, [img]);
    var li = h("li", { class: "msg shopper photo-msg" + (isPending ? " pending" : "") }, [h("span", { class: "sr", text: t("you") + ": " }), frame]);
    if (id) li.setAttribute("data-id", id);
    if (isPending) li.appendChild(h("div", { class: "state", text: t("uploading") }));
    if (file) dataUrl(file).then(function (u) { img.src = u; });
    else if (image && image.id) loadPhoto(img, image);
    img.addEventListener("load", scrollDown);
    // not an image after all (the server will say so): the file's name instead of a broken icon
    img.addEventListener("error", function () {
      if (frame.parentNode) frame.parentNode.replaceChild(h("div", { class: "text", text: file ? String(file.name) : t("photoGone") }), frame);
    });
    log.appendChild(li);
    scrollDown();
    return li;
  }
  function dataUrl(blob) {
    return new Promise(function (ok, fail) {
      var r = new FileReader();
      r.onload = function () { ok(String(r.result)); };
      r.onerror = fail;
      r.readAsDataURL(blob);
    });
  }
  function photoUrl(rest) {
    return serverOrigin() + "/api/chat/" + encodeURIComponent(convId) + "/images" + (rest ? "/" + encodeURIComponent(rest) : "");
  }
  function credential() {
    return token ? { Authorization: "Bearer " + token } : {};
  }
  function loadPhoto(img, image) {
    fetch(photoUrl(image.id), { headers: credential(), credentials: "omit" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.blob();
      })
      .then(dataUrl)
      .then(function (u) { img.src = u; })
      .catch(function () { img.alt = t("photoGone"); img.parentNode.replaceWith(h("div", { class: "text", text: t("photoGone") })); });
  }
  function photoFailed(li, why) {
    li.classList.remove("pending");
    li.classList.add("failed");
    var st = li.querySelector(".state") || li.appendChild(h("div", { class: "state" }));
    st.setAttribute("role", "alert");
    st.textContent = t("photoFailed", { why: why });
  }
  // Why the server refused an upload, in the shopper's words.
  function uploadError(status, body) {
    if (status === 413) return t("errImageBig", { mb: Math.max(1, Math.floor(((body && body.max_bytes) || 5242880) / 1048576)) });
    if (status === 415) return t("errImageType");
    if (status === 429) return t(body && body.error === "too_many_images" ? "errImageMany" : "errImageRate");
    if (status === 409) return t("errImageClosed");
    return t("errImageFailed");
  }
  function onPhotoPicked() {
    var file = photoInput.files && photoInput.files[0];
    photoInput.value = "";
    if (!file) return;
    var id = uuid();
    var li = addPhoto(file, null, id, true);
    // the photo goes into the conversation there is now; what the shopper typed stays in the box
    if (!welcomed || !convId || convState === "closed") return photoFailed(li, t(convState === "closed" ? "errImageClosed" : "errImageWait"));
    fetch(photoUrl(), { method: "POST", headers: credential(), body: file, credentials: "omit" })
      .then(function (r) {
        return r.json().catch(function () { return null; }).then(function (b) { return { status: r.status, body: b }; });
      })
      .then(function (res) {
        if (res.status !== 201 || !res.body || !res.body.id) return photoFailed(li, uploadError(res.status, res.body));
        var st = li.querySelector(".state");
        if (st) st.textContent = t("pending");
        var p = { id: id, image: String(res.body.id), li: li };
        pending.push(p);
        if (welcomed) {
          send(messageFrame(p));
          clearTimeout(resendTimer);
          resendTimer = setTimeout(flushPending, 15000);
        }
      })
      .catch(function () { photoFailed(li, t("errImageFailed")); });
  }
  function markDelivered(li) {
    li.classList.remove("pending");
    var st = li.querySelector(".state");
    if (st) st.parentNode.removeChild(st);
  }

  function onReply(m) {
    typingLine.textContent = "";
    readFrom = null;
    var li = agentLine(addMessage(m.from, m.text || "", m.agent), m);
    (m.cards || []).forEach(function (c) {
      var card = renderCard(c);
      if (card) li.appendChild(card);
    });
    if (li.querySelector(".card")) readFrom = li;
    if (m.suggestions && m.suggestions.length) {
      li.appendChild(
        h(
          "div",
          { class: "chips" },
          m.suggestions.map(function (s) {
            return h("button", {
              type: "button",
              text: String(s),
              onclick: function () {
                sendText(String(s));
                input.focus();
              },
            });
          })
        )
      );
    }
    if ((m.actions || []).indexOf("leave_message") >= 0) li.appendChild(leaveMessageForm());
    scrollDown();
  }

  function row(label, value) {
    if (value === undefined || value === null || value === "") return [];
    return [h("dt", { text: label }), h("dd", { text: String(value) })];
  }
  function renderCard(c) {
    if (!c || typeof c !== "object") return null;
    if (c.kind === "order") {
      var items = (c.items || []).map(function (it) {
        return h("li", { text: String(it) });
      });
      return h("div", { class: "card order", "data-order": c.order_no ? String(c.order_no) : null }, [
        h("h3", { text: t("orderNo") + " " + (c.order_no || "") }),
        h(
          "dl",
          null,
          [].concat(
            row(t("status"), c.status_text || c.status),
            items.length ? [h("dt", { text: t("items") }), h("dd", null, [h("ul", null, items)])] : [],
            c.created_at ? [h("dt", { i18n: "created" }), h("dd", null, [timeText(c.created_at)])] : [],
            row(t("total"), c.total !== undefined ? money(c.total) : null),
            c.latest_tracking_at
              ? [h("dt", { i18n: "tracking" }), h("dd", null, [timeText(c.latest_tracking_at, String(c.latest_tracking || ""))])]
              : row(t("tracking"), c.latest_tracking)
          )
        ),
        orderActions(c),
      ]);
    }
    if (c.kind === "product") {
      var sep = t("sep");
      return h("div", { class: "card product", "data-sku": c.sku ? String(c.sku) : null }, [
        h("h3", { text: String(c.name || c.sku || "") }),
        h(
          "dl",
          null,
          [].concat(
            row(t("price"), c.price !== undefined ? money(c.price) : null),
            row(t("colors"), (c.colors || []).join(sep)),
            row(t("sizes"), (c.sizes || []).join(sep)),
            row(t("status"), c.in_stock === false ? t("outOfStock") : t("inStock"))
          )
        ),
        productAction(c),
      ]);
    }
    return null;
  }

  // An order card's buttons (the actions the server says apply): each sends a message, in the
  // panel's language at the time of the tap, with the order as its context.
  var ORDER_ACTIONS = {
    track: { label: "track", text: "trackText", aria: "trackLabel" },
    return: { label: "returnOrder", text: "returnText", aria: "returnLabel" },
  };
  function orderActions(c) {
    if (!c.order_no || !Array.isArray(c.actions)) return null;
    var no = String(c.order_no);
    var buttons = [];
    c.actions.forEach(function (a) {
      var spec = Object.prototype.hasOwnProperty.call(ORDER_ACTIONS, a) ? ORDER_ACTIONS[a] : null;
      if (!spec) return;
      buttons.push(
        h("button", {
          type: "button",
          class: "act " + a,
          i18n: spec.label,
          "i18n-aria-label": [spec.aria, { no: no }],
          onclick: function () {
            sendText(t(spec.text, { no: no }), { order: no });
            input.focus();
          },
        })
      );
    });
    return buttons.length ? h("div", { class: "acts" }, buttons) : null;
  }
  // A product card's button: asks about that product (its name, with the sku as the context).
  function productAction(c) {
    if (!c.sku) return null;
    var sku = String(c.sku);
    var name = String(c.name || sku);
    return h("div", { class: "acts" }, [
      h("button", {
        type: "button",
        class: "act ask",
        i18n: "ask",
        "i18n-aria-label": ["askLabel", { name: name }],
        onclick: function () {
          sendText(name, { product: sku });
          input.focus();
        },
      }),
    ]);
  }

  var formSeq = 0;
  function leaveMessageForm() {
    var n = ++formSeq;
    var text = h("textarea", { id: "kefu-lm-text-" + n, rows: "3", maxlength: "2000", required: true });
    var contact = h("input", { id: "kefu-lm-contact-" + n, type: "text", maxlength: "200", autocomplete: "tel" });
    var submit = h("button", { type: "submit", class: "primary", i18n: "leaveSend" });
    var form = h(
      "form",
      {
        class: "form leave",
        onsubmit: function (e) {
          e.preventDefault();
          var body = text.value.trim();
          if (!body) return text.focus();
          var frame = { type: "ticket", text: body };
          if (contact.value.trim()) frame.contact = contact.value.trim();
          if (send(frame)) {
            submit.disabled = true;
            text.disabled = true;
            contact.disabled = true;
            input.focus();
          } else addNotice(t("reconnecting"), true);
        },
      },
      [
        h("div", { class: "who", i18n: "leaveTitle" }),
        h("label", { for: "kefu-lm-text-" + n, i18n: "leaveText" }),
        text,
        h("label", { for: "kefu-lm-contact-" + n, i18n: "leaveContact" }),
        contact,
        submit,
      ]
    );
    return form;
  }

  function showRating(scale) {
    var n = ++formSeq;
    var score = 0;
    var label = h("div", { class: "scale", "aria-live": "polite" });
    var stars = [];
    var group = h("div", { class: "stars", role: "radiogroup", "i18n-aria-label": "rateTitle" });
    function pick(s) {
      score = s;
      stars.forEach(function (b, i) {
        b.classList.toggle("on", i < s);
        b.setAttribute("aria-checked", i + 1 === s ? "true" : "false");
        b.tabIndex = i + 1 === s || (s === 0 && i === 0) ? 0 : -1;
      });
      label.textContent = s ? String(scale[s - 1] || "") : "";
      submit.disabled = !s;
    }
    for (var i = 1; i <= 5; i++) {
      (function (s) {
        var b = h("button", {
          type: "button",
          role: "radio",
          "aria-checked": "false",
          "aria-label": t("rateStar", { n: s, label: scale[s - 1] || s }),
          title: String(scale[s - 1] || s),
          text: "★",
          onclick: function () {
            pick(s);
          },
          onkeydown: function (e) {
            var d = e.key === "ArrowRight" || e.key === "ArrowUp" ? 1 : e.key === "ArrowLeft" || e.key === "ArrowDown" ? -1 : 0;
            if (!d) return;
            e.preventDefault();
            var next = Math.min(5, Math.max(1, (score || s) + d));
            pick(next);
            stars[next - 1].focus();
          },
        });
        stars.push(b);
        group.appendChild(b);
      })(i);
    }
    var comment = h("textarea", { id: "kefu-rate-comment-" + n, rows: "2", maxlength: "500" });
    var submit = h("button", { type: "submit", class: "primary", i18n: "rateSend", disabled: true });
    var form = h(
      "form",
      {
        class: "form rating",
        onsubmit: function (e) {
          e.preventDefault();
          if (!score) return;
          var frame = { type: "rating", score: score };
          if (comment.value.trim()) frame.comment = comment.value.trim();
          if (send(frame)) {
            // what was given stays in view; the thanks is the server's reply (one, in keeping
            // with the score: a low one comes with the offer of an agent or a message)
            var given = "★★★★★".slice(0, score) + "☆☆☆☆☆".slice(score);
            li.replaceChild(h("div", { class: "text rated", i18n: ["rateGiven", { stars: given, label: scale[score - 1] || score }] }), form);
          } else addNotice(t("reconnecting"), true);
        },
      },
      [
        h("div", { class: "who", i18n: "rateTitle" }),
        group,
        label,
        h("label", { for: "kefu-rate-comment-" + n, i18n: "rateComment" }),
        comment,
        submit,
      ]
    );
    var li = h("li", { class: "msg bot" }, [form]);
    pick(0);
    log.appendChild(li);
    scrollDown();
  }

  // ---- the page's API -----------------------------------------------------------------------

  // window.kefu.setContext({product, order, url}); calls queued before this file ran, as
  // (window.kefu = window.kefu || []).push(["setContext", {...}]), are carried out now, and
  // push keeps working afterwards.
  var api = {
    // opens the chat panel (and connects); for a store's own "chat with us" button
    open: function () {
      if (panel.hidden) openPanel();
    },
    close: function () {
      if (!panel.hidden) closePanel();
    },
    setContext: function (c) {
      setContext(c);
    },
    push: function (call) {
      if (!Array.isArray(call)) return;
      if (call[0] === "setContext") setContext(call[1]);
      else if (call[0] === "open") api.open();
      else if (call[0] === "close") api.close();
    },
  };
  var queued = window.kefu;
  window.kefu = api;
  if (Array.isArray(queued)) queued.forEach(api.push);
})();
