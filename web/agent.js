// kefu agent console (/agent): presence and capacity; the waiting queue with waiting times and VIP
// marks; several conversations at once, each with its transcript, the shopper's profile, orders and
// the escalation reason beside the chat; canned responses, internal notes, transfer, resolve, hand
// back to the bot; a title flash and a chime on a new assignment. Live work goes over /ws/agent
// (docs/protocol.md); the queue roster, canned responses, tickets and past conversations come from
// the staff API. Everything from shoppers and data is put on the page as text (Kefu.el /
// textContent), never as markup.
"use strict";

(() => {
  const { el, fill, t, api } = Kefu;
  const PRESENCE_KEY = "kefu.agent.presence";
  const CAPACITY_KEY = "kefu.agent.capacity";
  const PENDING_KEY = "kefu.agent.pending";

  const REASONS = {
    requested: ["顾客要求转人工", "Shopper asked for an agent"],
    complaint: ["投诉", "Complaint"],
    unresolved: ["机器人两次未能解决", "Bot could not resolve it twice"],
    transfer: ["同事转接", "Transferred by a colleague"],
    agent_disconnected: ["上一位客服掉线", "Previous agent disconnected"],
  };
  const OUTCOMES = {
    resolved: ["已解决", "Resolved"], handed_back: ["已交回机器人", "Handed back to the bot"],
    transferred: ["已转接", "Transferred"], requeued: ["已退回队列", "Back in the queue"],
    shopper_ended: ["顾客已结束会话", "The shopper ended the chat"],
  };
  const ORDER_STATUS = {
    pending_payment: ["待付款", "Awaiting payment"], paid: ["已付款，待发货", "Paid, not shipped"],
    shipped: ["已发货", "Shipped"], delivered: ["已签收", "Delivered"], cancelled: ["已取消", "Cancelled"],
    returned: ["已退货", "Returned"],
  };
  const SENDERS = { shopper: ["顾客", "Shopper"], bot: ["机器人", "Bot"], agent: ["客服", "Agent"], system: ["系统", "System"] };
  const INTENTS = {
    order_status: ["查询订单", "Order status"], return_refund: ["退货退款", "Returns and refunds"],
    product_question: ["商品咨询", "Product question"], shipping_delivery: ["配送物流", "Shipping and delivery"],
    payment: ["支付", "Payment"], promotion_coupon: ["优惠活动", "Promotions and coupons"],
    account_membership: ["账户会员", "Account and membership"], invoice: ["发票", "Invoice"], complaint: ["投诉", "Complaint"],
    human_agent: ["要求人工", "Asked for a person"], greeting: ["问候", "Greeting"], thanks_goodbye: ["感谢告别", "Thanks and goodbye"],
    out_of_scope: ["超出范围", "Out of scope"],
  };
  const TIERS = { regular: ["普通会员", "Regular"], silver: ["银卡会员", "Silver"], gold: ["金卡会员", "Gold"], diamond: ["钻石会员", "Diamond"] };
  const FLOWS = { order_status: ["查订单", "Order lookup"], product: ["商品问答", "Product answers"], return: ["退货", "Return"] };
  const tt = (pair, fallback) => (pair ? t(pair[0], pair[1]) : fallback || "");
  const reasonText = (r) => tt(REASONS[r], r || "");
  const money = (x) => "¥" + Number(x || 0).toFixed(2);
  const langName = (l) => (l === "en" ? "EN" : "中");
  /** Staff login → display name ("li" → "Li"): notes, messages and handoffs all sign with it. */
  const staffNames = new Map();
  const staffName = (login) => (!login ? "" : me && login === me.name ? me.display_name || me.name : staffNames.get(login) || login);

  // ---- state ------------------------------------------------------------------------------------
  /** conversation id → { id, lang, reason, bot, ctx, messages: [], seen: Set(stored ids), unread,
   *  online, typingUntil, ended: outcome|null, draft, noteMode } */
  const convs = new Map();
  let selected = null;
  let queue = { items: [], receivedAt: Date.now() };
  let me = null;
  let agentInfo = null;
  let ws = null;
  let connected = false;
  let retry = 0;
  let closedForGood = false;
  let canned = null;
  let cannedLoad = null;
  /** sku → product (the catalog, for names in order cards); filled once at start. */
  const catalog = new Map();
  let msgSeq = 0;
  /** Messages sent but not acknowledged: client id → { conversation_id, id, text, agent }. Kept
   *  in sessionStorage so a reload or reconnect sends them again (same ids: stored once). */
  let pending = new Map();
  const savePending = () => sessionStorage.setItem(PENDING_KEY, JSON.stringify([...pending]));
  /** The conversations the server said were ours at sign-in: their `assigned` frames are a
   *  restore (reconnect, reload), not a new assignment. */
  let restoring = new Set();
  const MAX_CHARS = 2000;

  // ---- page -------------------------------------------------------------------------------------
  const ui = {};

  function start(staff, main) {
    me = staff;
    try {
      const saved = new Map(JSON.parse(sessionStorage.getItem(PENDING_KEY) || "[]"));
      // only this agent's: another agent signing in on this tab does not send them as theirs
      for (const [k, p] of saved) if (p.agent === me.name) pending.set(k, p);
    } catch (_) { /* unreadable: nothing to send again */ }
    savePending();
    main.classList.add("agent");
    ui.conn = el("span.conn", { id: "connection", role: "status" }, t("连接中…", "Connecting…"));
    ui.presence = el("select", { id: "presence", "aria-label": t("在线状态", "Presence"), onchange: onPresence },
      el("option", { value: "online" }, t("在线", "Online")),
      el("option", { value: "away", title: t("不接新会话", "No new chats") }, t("离开", "Away")));
    ui.presence.value = localStorage.getItem(PRESENCE_KEY) === "away" ? "away" : "online";
    ui.capacity = el("input", { id: "capacity", type: "number", min: "1", max: "20", inputmode: "numeric",
      value: localStorage.getItem(CAPACITY_KEY) || "", onchange: onCapacity });
    ui.load = el("span.load.muted", { id: "load" });
    ui.mine = el("ul.conv-list", { id: "mine", "aria-label": t("我的会话", "My conversations") });
    ui.queue = el("ul.queue-list", { id: "queue", "aria-label": t("排队中的顾客", "Waiting shoppers") });
    ui.queueCount = el("span.badge", { id: "queue-count" }, "0");
    ui.tickets = el("ul.ticket-list", { id: "tickets" });
    ui.ticketCount = el("span.badge.warn", { id: "ticket-count" }, "0");
    ui.ticketFilter = el("select", { id: "ticket-filter", "aria-label": t("留言状态", "Status"), onchange: () => loadTickets() },
      ["open", "answered", "closed", ""].map((v) => el("option", { value: v }, v ? tt(TICKET_STATUS[v]) : t("全部", "All"))));

    const side = el("aside.side", { "aria-label": t("会话与排队", "Conversations and queue") },
      el("section.side-box.me-box",
        el("div.me-row", el("label", { for: "presence" }, t("状态", "Status")), ui.presence),
        el("div.me-row", el("label", { for: "capacity" }, t("同时接待上限", "Chats at once")), ui.capacity, ui.load),
        ui.conn),
      el("section.side-box",
        el("h2", t("我的会话", "My conversations")), ui.mine),
      el("section.side-box",
        el("h2", t("排队", "Queue"), " ", ui.queueCount), ui.queue),
      el("details.side-box.tickets-box", { id: "tickets-box", ontoggle: (e) => e.target.open && loadTickets() },
        el("summary", el("h2", t("留言", "Messages left"), " ", ui.ticketCount)), ui.ticketFilter, ui.tickets));

    ui.chat = el("section.chat", { id: "chat", "aria-label": t("会话", "Conversation") });
    ui.context = el("aside.context", { id: "context", "aria-label": t("顾客信息", "Shopper details") });
    fill(main, side, ui.chat, ui.context);
    renderChat();
    renderContext();
    connect();
    loadTickets();
    api("GET", "/api/queue").then((snap) => {
      for (const a of snap.agents) staffNames.set(a.name, a.display_name || a.name);
      if (selected) { renderTranscript(); renderContext(); }
    }).catch(() => { /* colleagues' notes show their login names */ });
    api("GET", "/api/products").then((list) => {
      for (const p of list) catalog.set(p.sku, p);
      renderContext();
    }).catch(() => { /* order cards show SKUs instead of names */ });
    setInterval(tick, 1000);
    setInterval(loadTickets, 60000);
    const back = () => {
      if (document.hidden) return;
      stopFlash();
      const c = selected && convs.get(selected);
      if (c && c.unread) { c.unread = 0; renderMine(); }
    };
    window.addEventListener("focus", back);
    document.addEventListener("visibilitychange", back);
    document.addEventListener("keydown", shortcuts);
    document.addEventListener("pointerdown", unlockSound, { once: true });
    document.addEventListener("keydown", unlockSound, { once: true });
  }

  // ---- the WebSocket ------------------------------------------------------------------------------
  function connect() {
    const s = Kefu.session();
    if (!s) return Kefu.logout();
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/agent";
    ws = new WebSocket(url);
    ws.onopen = () => {
      const hello = { type: "hello", token: s.token, presence: ui.presence.value };
      const cap = parseInt(ui.capacity.value, 10);
      if (cap >= 1 && cap <= 20) hello.capacity = cap;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (e) => {
      let f;
      try { f = JSON.parse(e.data); } catch (_) { return; }
      onFrame(f);
    };
    ws.onclose = () => {
      const was = connected;
      connected = false;
      ws = null;
      setConn(false);
      if (closedForGood) return;
      const delay = Math.min(30000, 500 * 2 ** retry++) * (0.75 + Math.random() / 2);
      if (was) Kefu.toast(t("连接已断开，正在重连…", "Disconnected; reconnecting…"), "error");
      setTimeout(connect, delay);
    };
  }

  /** Sends a frame; false when there is no connection. The server reads frames in order, so
   *  anything sent after `hello` (sent first on open) is handled after it. */
  function send(frame) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  function setConn(on) {
    ui.conn.textContent = on ? t("已连接", "Connected") : t("未连接，重连中…", "Offline, reconnecting…");
    ui.conn.classList.toggle("off", !on);
  }

  function onFrame(f) {
    switch (f.type) {
      case "welcome":
        connected = true;
        retry = 0;
        agentInfo = f.agent;
        // the select and the box are the agent's choice: a change made while signing in is sent
        if (f.agent.presence !== ui.presence.value) onPresence();
        if (!ui.capacity.value) ui.capacity.value = f.agent.capacity;
        else if (Number(ui.capacity.value) !== f.agent.capacity) onCapacity();
        restoring = new Set(f.agent.conversations);
        // conversations no longer ours (another agent, resolved while we were away) are over,
        // and what was not delivered in them can no longer be
        for (const c of convs.values()) {
          if (!c.ended && !restoring.has(c.id)) endConversation(c, "requeued");
        }
        for (const [k, p] of pending) if (!restoring.has(p.conversation_id)) pending.delete(k);
        savePending();
        setConn(true);
        resendPending();
        renderMine();
        renderLoad();
        if (selected) renderChat();
        break;
      case "queue":
        queue = { items: f.items, receivedAt: Date.now() };
        renderQueue();
        break;
      case "assigned":
        onAssigned(f);
        break;
      case "message": {
        const c = convs.get(f.conversation_id);
        if (!c || c.seen.has(f.id)) break;
        c.seen.add(f.id);
        c.messages.push({ id: f.id, sender: f.from, text: f.text, created_at: f.at, image: f.image });
        c.typingUntil = 0;
        if (f.conversation_id !== selected || document.hidden) {
          c.unread++;
          if (f.from === "shopper") flash(t("新消息", "New message"));
        }
        renderMine();
        if (f.conversation_id === selected) appendMessage(c, c.messages[c.messages.length - 1]);
        break;
      }
      case "typing": {
        const c = convs.get(f.conversation_id);
        if (c) { c.typingUntil = Date.now() + 4000; if (f.conversation_id === selected) renderTyping(c); }
        break;
      }
      case "note": {
        const c = convs.get(f.conversation_id);
        if (c && c.ctx) {
          c.noteSent = null;
          c.ctx.notes.push(f.note);
          c.messages.push({ note: true, id: "note-" + f.note.id, sender: "note", text: f.note.text,
            created_at: f.note.created_at, agent: f.note.agent });
          if (f.conversation_id === selected) { appendMessage(c, c.messages[c.messages.length - 1]); renderContext(); }
        }
        break;
      }
      case "page": {
        const c = convs.get(f.conversation_id);
        if (c) {
          c.bot = Object.assign({}, c.bot, { page: f.page });
          // only the texts: the header's buttons keep the keyboard focus
          const line = f.conversation_id === selected && document.getElementById("conv-page");
          if (line) line.textContent = pageLine(c);
          const dd = f.conversation_id === selected && document.getElementById("ctx-page");
          if (dd) dd.textContent = pageText(f.page) || t("未知", "unknown");
        }
        break;
      }
      case "shopper": {
        const c = convs.get(f.conversation_id);
        if (c) {
          c.online = f.online;
          renderMine();
          // only the status text: the header's buttons keep the keyboard focus
          const status = f.conversation_id === selected && document.getElementById("shopper-online");
          if (status) status.textContent = onlineText(c);
        }
        break;
      }
      case "ack": {
        const p = pending.get(f.id);
        pending.delete(f.id);
        savePending();
        if (p) {
          const c = convs.get(p.conversation_id);
          const m = c && c.messages.find((x) => x.clientId === f.id);
          if (m && f.message_id) { m.id = f.message_id; c.seen.add(f.message_id); }
          if (m) { m.pending = false; redrawMessage(c, m); }
        }
        break;
      }
      case "recalled": {
        const c = convs.get(f.conversation_id);
        const m = c && c.messages.find((x) => !x.note && x.id === f.message_id);
        if (m) { m.recalled = { by: f.by, at: f.at }; redrawMessage(c, m); }
        if (f.by === me.name) Kefu.toast(t("已撤回", "Recalled"), "ok");
        break;
      }
      case "ended": {
        const c = convs.get(f.conversation_id);
        if (c) {
          endConversation(c, f.outcome);
          renderMine();
          if (c.id === selected) renderChat();
        }
        renderLoad();
        break;
      }
      case "done":
        if (f.op === "transfer" && f.warning === "no_agents") {
          Kefu.toast(t("已退回排队。现在没有其他同事在线，已请顾客留言", "Back in the queue. No colleague is online, so the shopper was offered the message form"), "warn");
        } else if (f.op === "transfer") Kefu.toast(t("已转接", "Transferred"), "ok");
        if (f.op === "claim") Kefu.toast(t("已接入", "Claimed"), "ok");
        break;
      case "error":
        if (f.code === "unauthorized") { closedForGood = true; Kefu.logout(); break; }
        if (f.code === "replaced") {
          closedForGood = true;
          Kefu.toast(t("此账号已在别处登录，本页已断开", "You signed in elsewhere; this page is disconnected"), "error");
          break;
        }
        if (f.code === "forbidden") { closedForGood = true; }
        if (f.code === "storage_unavailable") setTimeout(resendPending, 3000);
        if (f.conversation_id && (f.code === "storage_unavailable" || f.code === "bad_request")) restoreNote(f.conversation_id);
        Kefu.toast(errorText(f), "error");
        break;
    }
  }

  function errorText(f) {
    const known = {
      already_taken: t("该会话已被其他客服接入", "Another agent already took it"),
      not_waiting: t("该会话已不在排队中", "It is no longer waiting"),
      not_yours: f.message && f.message.includes("recall") ? t("只有发送者（或管理员）可以撤回", "Only the sender (or an admin) can recall it")
        : t("该会话不属于你", "That conversation is not yours"),
      recall_window_passed: t("只能撤回 2 分钟内发送的消息", "Only messages of the last 2 minutes can be recalled"),
      storage_unavailable: t("保存失败，请重试", "Could not save; try again"),
    };
    return known[f.code] || f.message || f.code;
  }

  function resendPending() {
    for (const p of pending.values()) send({ type: "message", conversation_id: p.conversation_id, id: p.id, text: p.text });
  }

  /** The conversation is over for us: messages not acknowledged in it stay visible as not
   *  delivered (they can no longer be). */
  function endConversation(c, outcome) {
    c.ended = outcome;
    for (const [k, p] of pending) if (p.conversation_id === c.id) pending.delete(k);
    savePending();
    for (const m of c.messages) if (m.pending) { m.pending = false; m.failed = true; }
  }

  /** A note the server refused goes back in the reply box, so nothing typed is lost. */
  function restoreNote(id) {
    const c = convs.get(id);
    if (!c || !c.noteSent) return;
    c.draft = c.draft ? c.noteSent + "\n" + c.draft : c.noteSent;
    c.noteMode = true;
    c.noteSent = null;
    if (id === selected) renderChat();
  }

  function onAssigned(f) {
    const old = convs.get(f.conversation_id);
    const restored = restoring.delete(f.conversation_id);
    const fresh = !restored && (!old || old.ended);
    const c = {
      id: f.conversation_id, reason: f.reason, bot: f.bot || {}, ctx: f.context,
      lang: f.context.lang, messages: [], seen: new Set(), unread: old && !old.ended ? old.unread : 0,
      // a new assignment: the shopper just asked; a restore: unknown until a `shopper` frame
      online: old ? old.online : fresh ? true : null, typingUntil: 0, ended: null,
      draft: old ? old.draft : "", noteMode: old ? old.noteMode : false,
      productNode: old ? old.productNode : null,
    };
    // what the shopper said while we were away counts as unread
    if (old && !old.ended) {
      c.unread += f.context.transcript.filter((m) => m.sender === "shopper" && !old.seen.has(m.id)).length;
    }
    for (const m of f.context.transcript) {
      c.seen.add(m.id);
      c.messages.push(m);
    }
    for (const n of f.context.notes) {
      c.messages.push({ note: true, id: "note-" + n.id, sender: "note", text: n.text, created_at: n.created_at, agent: n.agent });
    }
    c.messages.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
    // messages of ours not yet acknowledged (a reconnect) stay, marked as sending
    const stored = new Set(f.context.transcript.map((m) => m.client_msg_id).filter(Boolean));
    for (const p of pending.values()) {
      if (p.conversation_id === c.id && !stored.has(`agent:${me.name}:${p.id}`)) {
        c.messages.push({ sender: "agent", text: p.text, clientId: p.id, pending: true, created_at: new Date().toISOString() });
      }
    }
    c.noteSent = old ? old.noteSent : null;
    convs.set(c.id, c);
    if (fresh) {
      c.unread = Math.max(1, c.unread);
      flash(t("新会话", "New chat"));
      chime();
    }
    if (!selected || !convs.has(selected) || (convs.get(selected).ended && fresh)) selected = c.id;
    if (selected === c.id) c.unread = 0;
    renderMine();
    renderLoad();
    if (selected === c.id) { renderChat(); renderContext(); }
  }

  // ---- presence, capacity ---------------------------------------------------------------------------
  function onPresence() {
    localStorage.setItem(PRESENCE_KEY, ui.presence.value);
    send({ type: "presence", state: ui.presence.value });
    if (agentInfo) agentInfo.presence = ui.presence.value;
  }
  function onCapacity() {
    const n = parseInt(ui.capacity.value, 10);
    if (!(n >= 1 && n <= 20)) {
      Kefu.toast(t("同时接待上限为 1–20", "Chats at once: 1 to 20"), "error");
      if (agentInfo) ui.capacity.value = agentInfo.capacity;
      return;
    }
    localStorage.setItem(CAPACITY_KEY, String(n));
    if (agentInfo) agentInfo.capacity = n;
    send({ type: "capacity", max: n });
    renderLoad();
  }
  function renderLoad() {
    const active = [...convs.values()].filter((c) => !c.ended).length;
    const cap = agentInfo ? agentInfo.capacity : "–";
    ui.load.textContent = t(`接待中 ${active}/${cap}`, `${active}/${cap} in use`);
  }

  // ---- left: my conversations, the queue, tickets ---------------------------------------------------
  function shopperName(c) {
    const p = c.ctx && c.ctx.shopper;
    return p ? p.name : t("访客", "Guest") + " " + c.id.slice(-4);
  }
  function lastText(c) {
    for (let i = c.messages.length - 1; i >= 0; i--) if (!c.messages[i].note) return c.messages[i].text;
    return "";
  }

  function renderMine() {
    const items = [...convs.values()];
    if (!items.length) {
      fill(ui.mine, el("li.empty.muted", t("暂无会话。在线时会自动分配，也可以从排队中接入。",
        "No conversations. You get them automatically while online, or claim one from the queue.")));
      return;
    }
    fill(ui.mine, items.map((c) => {
      const vip = c.ctx && c.ctx.shopper && c.ctx.shopper.vip;
      const b = el("button.conv" + (c.id === selected ? ".selected" : "") + (c.ended ? ".ended" : ""), {
        type: "button", "data-conversation": c.id, "aria-current": c.id === selected ? "true" : null,
        onclick: () => select(c.id),
      },
        el("span.conv-name", vip ? el("span.badge.vip", "VIP") : null, " ", shopperName(c)),
        el("span.conv-meta",
          c.unread ? el("span.badge.unread", String(c.unread), el("span.visually-hidden", t(" 条未读", " unread"))) : null,
          c.ended ? el("span.badge", tt(OUTCOMES[c.ended], c.ended))
            : c.online === null ? null
            : el("span.dot" + (c.online ? ".on" : ""), { title: c.online ? t("顾客在线", "Shopper online") : t("顾客离线", "Shopper offline") },
              el("span.visually-hidden", c.online ? t("顾客在线", "Shopper online") : t("顾客离线", "Shopper offline")))),
        el("span.conv-last", lastText(c)));
      return el("li", b);
    }));
  }

  function select(id) {
    selected = id;
    const c = convs.get(id);
    if (c) c.unread = 0;
    renderMine();
    renderChat();
    renderContext();
    stopFlash();
  }

  function renderQueue() {
    ui.queueCount.textContent = String(queue.items.length);
    if (!queue.items.length) {
      fill(ui.queue, el("li.empty.muted", t("没有顾客在排队", "Nobody is waiting")));
      return;
    }
    fill(ui.queue, queue.items.map((q, i) => el("li.queue-item", { "data-conversation": q.conversation_id },
      el("div.q-head",
        el("span.q-place", `${i + 1}.`),
        q.vip ? el("span.badge.vip", "VIP") : null,
        el("span.q-name", q.shopper_name || (t("访客", "Guest") + " " + q.conversation_id.slice(-4))),
        el("span.badge", langName(q.lang))),
      q.page ? el("div.q-page.muted.small", t("所在页面：", "On page: "), pageText(q.page)) : null,
      el("div.q-foot",
        el("span.q-reason.muted", reasonText(q.reason)),
        el("span.q-wait", { "data-waiting": q.waiting_secs }, Kefu.duration(q.waiting_secs)),
        el("button.claim", { type: "button", onclick: () => send({ type: "claim", conversation_id: q.conversation_id }),
          "aria-label": t("接入", "Claim") + " " + (q.shopper_name || q.conversation_id) }, t("接入", "Claim"))))));
  }

  const TICKET_STATUS = { open: ["待处理", "Open"], answered: ["已回复", "Answered"], closed: ["已关闭", "Closed"] };
  async function loadTickets() {
    const status = ui.ticketFilter.value;
    try {
      const open = await api("GET", "/api/tickets?status=open");
      ui.ticketCount.textContent = String(open.length);
      const list = status === "open" ? open : await api("GET", "/api/tickets" + (status ? `?status=${status}` : ""));
      if (!list.length) return fill(ui.tickets, el("li.empty.muted", status === "open" ? t("没有未处理的留言", "No open messages") : t("没有留言", "No messages")));
      fill(ui.tickets, list.map(ticketNode));
    } catch (_) { /* shown again on the next refresh */ }
  }
  function ticketNode(tk) {
    const post = async (path, body) => {
      try { await api("POST", `/api/tickets/${encodeURIComponent(tk.id)}/${path}`, body); loadTickets(); }
      catch (err) { Kefu.toast(err.message, "error"); }
    };
    const answer = el("textarea", { rows: "2", maxlength: "2000", "aria-label": t("回复留言", "Reply to the message") });
    return el("li.ticket", { "data-ticket": tk.id },
      el("div.ticket-head", el("span.badge", langName(tk.lang)), " ", el("span.badge.status-" + tk.status, tt(TICKET_STATUS[tk.status], tk.status)),
        " ", el("span.muted", Kefu.time(tk.created_at)), tk.shopper_id ? el("span.muted", " · " + tk.shopper_id) : null),
      el("p.ticket-text", tk.text),
      tk.contact ? el("p.muted", t("联系方式：", "Contact: "), tk.contact) : null,
      tk.answer ? el("p.ticket-answer", el("strong", staffName(tk.answered_by) + " · " + Kefu.time(tk.answered_at) + "："), tk.answer,
        el("span.muted.small", " · ", tk.delivered_at ? t("顾客已看到", "seen by the shopper") : t("顾客下次访问时可见", "shown on the shopper's next visit"))) : null,
      tk.status === "open" ? el("form.ticket-reply", { onsubmit: (e) => {
        e.preventDefault();
        if (answer.value.trim()) post("reply", { text: answer.value.trim() });
      } }, answer, el("button.primary", { type: "submit" }, t("回复", "Reply"))) : null,
      el("div.ticket-actions",
        el("button.link", { type: "button", onclick: () => transcriptDialog(tk.conversation_id) }, t("查看对话", "View conversation")),
        tk.status !== "closed" ? el("button.link", { type: "button", onclick: () => post("close") }, t("关闭", "Close")) : null));
  }
  /** A conversation's transcript (read-only), from the staff API: a ticket's conversation. */
  function transcriptDialog(id) {
    const dialog = el("dialog.transcript", { id: "transcript-dialog", "aria-label": t("对话记录", "Transcript") });
    const body = el("div.transcript-body", el("p.muted", t("加载中…", "Loading…")));
    dialog.append(el("h2", t("对话记录", "Transcript")), body,
      el("div.dialog-actions", el("button", { type: "button", onclick: () => dialog.close() }, t("关闭", "Close"))));
    dialog.addEventListener("close", () => dialog.remove());
    document.body.appendChild(dialog);
    dialog.showModal();
    api("GET", `/api/conversations/${encodeURIComponent(id)}`).then((d) => {
      const c = { id, ctx: d, lang: d.lang, ended: "closed" };
      fill(body, d.transcript.map((m) => messageNode(c, m)));
    }).catch((err) => fill(body, el("p.form-error", err.message)));
  }

  function tick() {
    const elapsed = Math.floor((Date.now() - queue.receivedAt) / 1000);
    for (const w of ui.queue.querySelectorAll(".q-wait")) {
      w.textContent = Kefu.duration(Number(w.dataset.waiting) + elapsed);
    }
    const c = selected && convs.get(selected);
    if (c && ui.typing) renderTyping(c);
    const wait = document.getElementById("conv-wait");
    if (c && wait) wait.textContent = waitText(c);
  }

  // ---- centre: the conversation ---------------------------------------------------------------------
  function renderChat() {
    const c = selected && convs.get(selected);
    if (!c) {
      fill(ui.chat, el("div.chat-empty.muted",
        el("p", t("选择左侧的会话，或从排队中接入一位顾客。", "Pick a conversation on the left, or claim a shopper from the queue.")),
        el("p.small", t("快捷键：Ctrl+Enter 发送，Alt+↑/↓ 切换会话", "Keys: Ctrl+Enter sends, Alt+↑/↓ switches conversations"))));
      ui.transcript = ui.typing = ui.composer = null;
      return;
    }
    ui.head = el("div.chat-head");
    ui.transcript = el("div.transcript", { id: "transcript", role: "log", "aria-live": "polite",
      "aria-label": t("聊天记录", "Transcript") });
    ui.typing = el("div.typing.muted", { "aria-live": "polite" });
    fill(ui.chat, ui.head, ui.transcript, ui.typing, c.ended ? endedBar(c) : composer(c));
    renderChatHead();
    renderTranscript();
    renderTyping(c);
  }

  function renderChatHead() {
    const c = convs.get(selected);
    if (!c || !ui.head) return;
    const p = c.ctx.shopper;
    fill(ui.head,
      el("div.chat-title",
        el("h2", p && p.vip ? el("span.badge.vip", "VIP") : null, " ", shopperName(c)),
        el("span.badge", langName(c.lang)),
        c.ended ? null : el("span.muted.small", { id: "shopper-online" }, onlineText(c))),
      el("div.chat-sub.muted.small", t("转人工原因：", "Escalated: "), reasonText(c.reason), " · ", c.id,
        el("span.conv-wait", { id: "conv-wait" }, waitText(c))),
      el("div.chat-sub.muted.small", { id: "conv-page" }, pageLine(c)),
      c.ended ? null : el("div.chat-actions",
        el("button", { type: "button", id: "transfer", onclick: () => transferDialog(c) }, t("转接", "Transfer")),
        el("button", { type: "button", id: "handback", onclick: () => act(c, "handback") }, t("交回机器人", "Hand back to bot")),
        el("button.primary", { type: "button", id: "resolve", onclick: () => act(c, "resolve") }, t("结束并邀评", "Resolve"))));
  }

  /** The page the shopper is on, in words: the product's name, the order, the address. */
  function pageText(page) {
    if (!page) return "";
    const parts = [];
    if (page.product) { const p = catalog.get(page.product); parts.push(p ? t(p.name.zh, p.name.en) : page.product); }
    if (page.order) parts.push(t("订单 ", "Order ") + page.order);
    if (page.url) parts.push(page.url);
    return parts.join(" · ");
  }
  function pageLine(c) {
    const text = pageText(c.bot && c.bot.page);
    return text ? t("所在页面：", "On page: ") + text : "";
  }
  /** Since when the shopper has waited for an agent's answer (ms), or null: since they asked
   *  for a person until the first agent message, then since their first message after the
   *  agent's last. */
  function replyWaitSince(c) {
    let i = c.messages.length - 1;
    while (i >= 0 && !(c.messages[i].sender === "agent" && !c.messages[i].note)) i--;
    if (i < 0) {
      const h = c.ctx.handoffs[c.ctx.handoffs.length - 1];
      return h ? Date.parse(h.queued_at) : null;
    }
    const next = c.messages.slice(i + 1).find((m) => m.sender === "shopper" && !m.note);
    return next ? Date.parse(next.created_at) : null;
  }
  /** How long the shopper waited in the queue for this agent, and has waited for a reply. */
  function waitText(c) {
    if (c.ended) return "";
    const parts = [];
    const h = c.ctx.handoffs[c.ctx.handoffs.length - 1];
    if (h && h.assigned_at) parts.push(t("排队 ", "queued ") + Kefu.duration((Date.parse(h.assigned_at) - Date.parse(h.queued_at)) / 1000));
    const since = replyWaitSince(c);
    if (since) parts.push(t("等待回复 ", "waiting for a reply ") + Kefu.duration((Date.now() - since) / 1000));
    return parts.length ? " · " + parts.join(" · ") : "";
  }

  function onlineText(c) {
    return c.online === null ? "" : c.online ? t("在线", "online") : t("离线", "offline");
  }

  function act(c, type) {
    if (!send({ type, conversation_id: c.id })) Kefu.toast(t("未连接，请稍后再试", "Not connected; try again shortly"), "error");
  }

  function renderTranscript() {
    const c = convs.get(selected);
    if (!c || !ui.transcript) return;
    fill(ui.transcript, c.messages.map((m) => messageNode(c, m)));
    ui.transcript.scrollTop = ui.transcript.scrollHeight;
  }
  function appendMessage(c, m) {
    if (!ui.transcript) return;
    const near = ui.transcript.scrollHeight - ui.transcript.scrollTop - ui.transcript.clientHeight < 80;
    ui.transcript.appendChild(messageNode(c, m));
    if (near || m.sender === "agent" || m.note) ui.transcript.scrollTop = ui.transcript.scrollHeight;
  }
  function messageNode(c, m) {
    let who;
    if (m.note) who = t("内部备注 · ", "Internal note · ") + staffName(m.agent);
    else if (m.sender === "shopper") who = shopperName(c);
    else if (m.sender === "agent") {
      const login = m.meta && m.meta.agent;
      who = m.clientId ? staffName(me.name) : staffName(login) || tt(SENDERS.agent);
    }
    else who = tt(SENDERS[m.sender], m.sender);
    const cls = m.note ? "note" : m.sender;
    m.node = el("div.msg." + cls + (m.pending ? ".pending" : "") + (m.failed ? ".failed" : "") + (m.recalled ? ".recalled" : ""),
      el("div.meta", who, " · ", Kefu.time(m.created_at), m.pending ? " · " + t("发送中…", "sending…") : null,
        m.failed ? " · " + t("未送达", "not delivered") : null,
        m.recalled ? " · " + t(`已被 ${staffName(m.recalled.by)} 撤回 ${Kefu.time(m.recalled.at)}（顾客看不到内容）`,
          `recalled by ${staffName(m.recalled.by)} ${Kefu.time(m.recalled.at)} (the shopper no longer sees it)`) : null,
        recallButton(c, m)),
      el("div.text", m.text));
    // a shopper's photo: its thumbnail instead of the stand-in text ("[图片]"); a click enlarges it
    const image = m.image || (m.meta && m.meta.image);
    const textNode = image && m.node.querySelector(".text");
    if (textNode) textNode.replaceChildren(Kefu.photo(c.id, image));
    return m.node;
  }
  /** 撤回: an agent message of ours (any agent's for an admin) within the 2 minutes; the server
   *  decides, the button only hides once the time is up. */
  const RECALL_MS = 120000;
  function recallButton(c, m) {
    if (m.note || m.sender !== "agent" || m.recalled || m.pending || typeof m.id !== "number" || c.ended) return null;
    const mine = m.clientId || (m.meta && m.meta.agent === me.name);
    const left = RECALL_MS - (Date.now() - Date.parse(m.created_at));
    if ((!mine && me.role !== "admin") || !(left > 0)) return null;
    setTimeout(() => redrawMessage(c, m), left + 50);
    return el("button.link.recall", { type: "button", title: t("2 分钟内可撤回", "Can be recalled within 2 minutes"),
      onclick: () => send({ type: "recall", conversation_id: c.id, message_id: m.id }) || Kefu.toast(t("未连接", "Not connected"), "error") },
    " " + t("撤回", "Recall"));
  }
  function redrawMessage(c, m) {
    if (c.id !== selected || !m.node || !m.node.parentNode) return;
    const old = m.node;
    old.replaceWith(messageNode(c, m));
  }
  function renderTyping(c) {
    if (!ui.typing) return;
    const text = c.typingUntil > Date.now() ? t("顾客正在输入…", "The shopper is typing…") : "";
    if (ui.typing.textContent !== text) ui.typing.textContent = text;
  }

  function endedBar(c) {
    return el("div.ended-bar",
      el("p", tt(OUTCOMES[c.ended], c.ended), " — ", t("这个会话已不在你这里。", "this conversation is no longer yours.")),
      el("button", { type: "button", id: "dismiss", onclick: () => {
        convs.delete(c.id);
        selected = [...convs.keys()][0] || null;
        renderMine(); renderChat(); renderContext(); renderLoad();
      } }, t("关闭", "Close")));
  }

  function composer(c) {
    const box = el("textarea", { id: "composer", rows: "3", maxlength: "2000",
      "aria-label": t("回复顾客", "Reply to the shopper"),
      placeholder: t("输入回复，Ctrl+Enter 发送；输入 / 搜索快捷回复", "Type a reply; Ctrl+Enter sends; / searches canned responses") });
    box.value = c.draft || "";
    let lastTyping = 0;
    box.addEventListener("input", () => {
      c.draft = box.value;
      if (!noteBox.checked && Date.now() - lastTyping > 2000 && box.value.trim()) {
        lastTyping = Date.now();
        send({ type: "typing", conversation_id: c.id });
      }
      if (box.value.startsWith("/")) openCanned(box.value.slice(1));
      else if (picker.open && box.value === "") closeCanned();
    });
    box.addEventListener("keydown", (e) => {
      // "/query" with the list open: Enter or Ctrl+Enter picks the highlighted response into the
      // box (nothing is sent on the keystroke that picks; the next Ctrl+Enter sends), ↑/↓ move
      if (picker.open && box.value.startsWith("/")) {
        if (e.key === "Enter") { e.preventDefault(); if (!e.repeat) picker.pick(); return; }
        if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); picker.move(e.key === "ArrowDown" ? 1 : -1); return; }
      }
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); if (!e.repeat) submit(); }
      else if (e.key === "Escape" && picker.open) { e.preventDefault(); closeCanned(); }
      else if (e.key === "ArrowDown" && picker.open) { e.preventDefault(); picker.move(0, true); }
    });
    const noteBox = el("input", { type: "checkbox", id: "note-mode", checked: c.noteMode,
      onchange: () => { c.noteMode = noteBox.checked; form.classList.toggle("note-mode", c.noteMode); sendBtn.textContent = label(); } });
    const label = () => (noteBox.checked ? t("添加备注", "Add note") : t("发送", "Send"));
    const sendBtn = el("button.primary", { type: "submit", id: "send" }, label());
    const picker = cannedPicker(c, box);
    const form = el("form.composer" + (c.noteMode ? ".note-mode" : ""), { onsubmit: (e) => { e.preventDefault(); submit(); } },
      picker.node, box,
      el("div.composer-tools",
        el("button", { type: "button", id: "canned-toggle", "aria-expanded": "false", "aria-controls": "canned",
          onclick: () => (picker.open ? closeCanned() : openCanned("")) }, t("快捷回复", "Canned")),
        el("label.note-toggle", noteBox, " ", t("内部备注（顾客看不到）", "Internal note (shopper won't see it)")),
        el("span.spacer"), el("span.count.muted.small", { id: "composer-count" }), sendBtn));
    const count = form.querySelector("#composer-count");
    const updateCount = () => { count.textContent = box.value.length > 1500 ? `${box.value.length}/2000` : ""; };
    box.addEventListener("input", updateCount);
    ui.composer = box;
    const openCanned = (q) => picker.show(q);
    const closeCanned = () => picker.hide();

    function submit() {
      const text = box.value.trim();
      if (!text) return;
      if (!connected) { Kefu.toast(t("未连接，消息未发送", "Not connected; nothing was sent"), "error"); return; }
      if (text.length > MAX_CHARS) {
        Kefu.toast(t(`最多 ${MAX_CHARS} 字，现在 ${text.length} 字`, `At most ${MAX_CHARS} characters; this is ${text.length}`), "error");
        return;
      }
      if (noteBox.checked) {
        // kept until the server stores it (the `note` frame); a refusal puts it back in the box
        if (!send({ type: "note", conversation_id: c.id, text })) return;
        c.noteSent = text;
        // one note at a time: the next thing typed is a reply again (a refused note ticks it back)
        noteBox.checked = false;
        noteBox.dispatchEvent(new Event("change"));
      } else {
        const id = `m${Date.now().toString(36)}-${++msgSeq}`;
        const p = { conversation_id: c.id, id, text, agent: me.name };
        pending.set(id, p);
        savePending();
        send({ type: "message", conversation_id: p.conversation_id, id: p.id, text: p.text });
        const m = { sender: "agent", text, clientId: id, pending: true, created_at: new Date().toISOString() };
        c.messages.push(m);
        appendMessage(c, m);
      }
      box.value = "";
      c.draft = "";
      updateCount();
      closeCanned();
      box.focus();
    }
    setTimeout(() => box.focus(), 0);
    return form;
  }

  /** How well a canned response matches what was typed after "/" (lower is better; -1 not at
   *  all): its title starts with it, then its title has every word, then its id (the shortcut),
   *  then its text. */
  function cannedRank(r, q) {
    if (!q) return 0;
    const words = q.split(/\s+/);
    const has = (s) => words.every((w) => s.toLowerCase().includes(w));
    return r.title.toLowerCase().startsWith(q) ? 0 : has(r.title) ? 1 : has(r.id) ? 2 : has(r.text) ? 3 : -1;
  }

  /** The canned-response list above the composer: titles first, then ids, then texts; the
   *  highlighted item is the one Enter picks, and picking only fills the box. */
  function cannedPicker(c, box) {
    const search = el("input", { type: "search", id: "canned-search", "aria-label": t("搜索快捷回复", "Search canned responses"),
      placeholder: t("搜索快捷回复", "Search canned responses") });
    const list = el("ul.canned-list", { "aria-label": t("快捷回复", "Canned responses") });
    const node = el("div.canned", { id: "canned", hidden: true }, search, list,
      el("p.canned-hint.muted.small", t("↑↓ 选择，Enter 填入输入框（不会发送），再按 Ctrl+Enter 发送",
        "↑↓ choose, Enter puts it in the box (nothing is sent), then Ctrl+Enter sends")));
    const p = { node, list, open: false };
    let current = "";
    let active = 0;
    async function draw(q) {
      const mine = q || "";
      current = mine;
      if (!canned) {
        fill(list, el("li.muted", t("加载中…", "Loading…")));
        // one request however fast the agent types; then the latest filter is drawn
        cannedLoad = cannedLoad || api("GET", "/api/canned").then((r) => { canned = r; }, (err) => { cannedLoad = null; throw err; });
        try { await cannedLoad; }
        catch (err) { fill(list, el("li.form-error", err.message)); return; }
        if (mine !== current) return;
      }
      const needle = current.trim().toLowerCase();
      // a search looks in both languages, the conversation's first (a conversation may have
      // switched language since it started)
      const other = (r) => (r.lang === c.lang ? 0 : 1);
      const items = canned.filter((r) => needle || !other(r)).map((r, i) => ({ r, i, rank: cannedRank(r, needle) }))
        .filter((x) => x.rank >= 0).sort((a, b) => other(a.r) - other(b.r) || a.rank - b.rank || a.i - b.i).map((x) => x.r);
      active = 0;
      if (!items.length) return fill(list, el("li.muted", t("没有匹配的快捷回复", "No canned response matches")));
      fill(list, items.map((r, i) => el("li", el("button.canned-item", { type: "button", "data-canned": r.id,
        onclick: () => insert(r), onfocus: () => highlight(i),
        onkeydown: (e) => {
          if (e.key === "ArrowDown" && e.target.parentNode.nextSibling) { e.preventDefault(); e.target.parentNode.nextSibling.firstChild.focus(); }
          if (e.key === "ArrowUp") { e.preventDefault(); const prev = e.target.parentNode.previousSibling; (prev ? prev.firstChild : search).focus(); }
          if (e.key === "Escape") { e.preventDefault(); p.hide(); box.focus(); }
        } },
        el("span.canned-title", r.title), el("span.canned-text.muted", r.text)))));
      highlight(0);
    }
    /** Marks the item Enter picks. */
    function highlight(i) {
      const items = list.querySelectorAll("button.canned-item");
      if (!items.length) return;
      active = (i + items.length) % items.length;
      items.forEach((b, j) => { b.classList.toggle("active", j === active); b.setAttribute("aria-current", j === active ? "true" : "false"); });
      if (items[active].scrollIntoView) items[active].scrollIntoView({ block: "nearest" });
    }
    p.move = (d, focus) => {
      highlight(active + d);
      const b = list.querySelectorAll("button.canned-item")[active];
      if (focus && b) b.focus();
    };
    p.pick = () => {
      const b = list.querySelectorAll("button.canned-item")[active];
      if (b) b.click();
    };
    function insert(r) {
      box.value = box.value.startsWith("/") || !box.value.trim() ? r.text : box.value.replace(/\s*$/, " ") + r.text;
      c.draft = box.value;
      box.dispatchEvent(new Event("input"));
      p.hide();
      box.focus();
    }
    search.addEventListener("input", () => draw(search.value));
    search.addEventListener("keydown", (e) => {
      if (e.key === "Escape") { e.preventDefault(); p.hide(); box.focus(); }
      if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); highlight(active + (e.key === "ArrowDown" ? 1 : -1)); }
      if (e.key === "Enter") { e.preventDefault(); if (!e.repeat) p.pick(); }
    });
    const expanded = (on) => {
      const toggle = document.getElementById("canned-toggle");
      if (toggle) toggle.setAttribute("aria-expanded", String(on));
    };
    p.show = (q) => {
      node.hidden = false;
      p.open = true;
      expanded(true);
      if (document.activeElement !== box) search.value = q;
      draw(q);
      if (!q && document.activeElement !== box) search.focus();
    };
    p.hide = () => { node.hidden = true; p.open = false; expanded(false); };
    return p;
  }

  function transferDialog(c) {
    const dialog = el("dialog.transfer", { id: "transfer-dialog", "aria-labelledby": "transfer-title" });
    const list = el("div.agent-choices", el("p.muted", t("加载中…", "Loading…")));
    dialog.append(el("h2", { id: "transfer-title" }, t("转接给…", "Transfer to…")), list,
      el("div.dialog-actions", el("button", { type: "button", onclick: () => dialog.close() }, t("取消", "Cancel"))));
    dialog.addEventListener("close", () => dialog.remove());
    document.body.appendChild(dialog);
    dialog.showModal();
    api("GET", "/api/queue").then((snap) => {
      const others = snap.agents.filter((a) => a.name !== me.name && a.connected);
      for (const a of snap.agents) staffNames.set(a.name, a.display_name || a.name);
      // nobody else online for this language: the queue leads nowhere (the server then offers
      // the shopper the message form rather than "another agent is coming")
      const nobody = !others.some((a) => a.presence === "online" && a.langs.includes(c.lang));
      const choose = (to) => {
        const frame = { type: "transfer", conversation_id: c.id };
        if (to) frame.to = to;
        if (send(frame)) dialog.close();
        else Kefu.toast(t("未连接", "Not connected"), "error");
      };
      fill(list,
        el("button.choice" + (nobody ? ".warn" : ""), { type: "button", id: "transfer-queue", onclick: () => choose(null) },
          el("strong", t("退回排队", "Back to the queue")),
          nobody ? el("span.small.queue-warning", { id: "transfer-nobody" },
            t("现在没有其他同事在线：顾客会被告知暂时无人接待，并可以留言", "No colleague is online: the shopper will be told nobody can take over yet and offered the message form"))
            : el("span.muted.small", t("由下一位有空的同事接待（不会再分给你）", "The next free colleague takes it (not you again)"))),
        others.length ? others.map((a) => {
          const full = a.conversations.length >= a.capacity;
          const speaks = a.langs.includes(c.lang);
          const why = !speaks ? t("不接待该语言", "does not serve this language")
            : full ? t("已满", "no free seat") : a.presence === "away" ? t("离开中", "away") : "";
          return el("button.choice", { type: "button", "data-agent": a.name, disabled: !speaks || full, onclick: () => choose(a.name) },
            el("strong", a.display_name || a.name),
            el("span.muted.small", `${a.conversations.length}/${a.capacity}`, why ? " · " + why : ""));
        }) : el("p.muted", t("没有其他在线的同事", "No other colleague is connected")));
      const first = list.querySelector("button:not(:disabled)");
      if (first) first.focus();
    }).catch((err) => fill(list, el("p.form-error", err.message)));
  }

  // ---- right: what we know about the shopper ------------------------------------------------------
  function renderContext() {
    const c = selected && convs.get(selected);
    if (!c) { fill(ui.context, el("p.muted.pad", t("顾客资料、订单和转人工原因会显示在这里。", "The shopper's profile, orders and why they were escalated show here."))); return; }
    const ctx = c.ctx;
    const bot = c.bot || {};
    const section = (title, ...body) => el("section.ctx-box", el("h3", title), ...body);
    const dl = (pairs) => el("dl", pairs.filter(([, v]) => v !== null && v !== undefined && v !== "").flatMap(([k, v]) => [el("dt", k), el("dd", v)]));
    const p = ctx.shopper;
    fill(ui.context,
      section(t("转人工原因", "Why escalated"),
        el("p.reason", el("span.badge" + (c.reason === "complaint" ? ".bad" : ".warn"), reasonText(c.reason))),
        dl([
          [t("顾客所在页面", "Shopper's page"), el("span", { id: "ctx-page" }, pageText(bot.page) || t("未知", "unknown"))],
          [t("机器人识别的意图", "Intents the bot saw"), (bot.intents_seen || []).map((i) => tt(INTENTS[i], i)).join(t("、", ", "))],
          [t("回答过的 FAQ", "FAQ answers given"), (bot.faq_ids || []).join(", ")],
          [t("流程", "Flows"), (bot.flows || []).map((f) => tt(FLOWS[f], f)).join(t("、", ", "))],
          [t("已创建的退货", "Returns opened"), (bot.returns_created || []).join(", ")],
          [t("投诉", "Complaint"), bot.complaint ? t("是", "yes") : null],
        ])),
      section(t("顾客", "Shopper"),
        p ? dl([
          [t("姓名", "Name"), p.name],
          [t("编号", "ID"), p.id],
          [t("会员等级", "Tier"), el("span", { id: "shopper-tier" }, tt(TIERS[p.tier], p.tier), p.vip ? el("span.badge.vip", " VIP") : null)],
          [t("历史评分", "Past ratings"), p.average_rating !== null && p.average_rating !== undefined
            ? `${p.average_rating.toFixed(1)} / 5 (${p.past_ratings.join(" ")})` : t("暂无", "none")],
          [t("咨询次数", "Conversations"), String(p.conversations)],
        ]) : el("p.muted", t("访客（未登录）：查看订单需核对手机号后四位。", "Guest (not signed in): check the phone's last 4 digits before discussing an order."))),
      section(t("本次涉及的订单", "Orders discussed"),
        ctx.orders.length ? ctx.orders.map(orderCard) : el("p.muted", t("无", "None"))),
      section(t("内部备注", "Internal notes"),
        ctx.notes.length ? ctx.notes.map((n) => el("div.mini.note-item", el("div.muted.small", staffName(n.agent), " · ", Kefu.time(n.created_at)), el("div", n.text)))
          : el("p.muted", t("勾选输入框下的“内部备注”来添加", "Tick \"Internal note\" under the reply box to add one"))),
      c.productNode || (c.productNode = productLookup(c)),
      p && p.recent_orders && p.recent_orders.length ? el("details.ctx-box", { open: !ctx.orders.length },
        el("summary", el("h3", t("近期订单", "Recent orders"), ` (${p.recent_orders.length})`)),
        p.recent_orders.map(orderCard)) : null,
      ctx.returns.length ? section(t("退货申请", "Returns"), ctx.returns.map((r) => el("div.mini",
        el("strong", r.id), " ", r.order_no, " · ", r.status, el("div.muted.small", r.reason)))) : null,
      ctx.handoffs.length > 1 ? section(t("转接记录", "Handoffs"), ctx.handoffs.map((h) => el("div.mini.small",
        Kefu.time(h.queued_at), " · ", reasonText(h.reason), h.agent ? " → " + staffName(h.agent) : "", h.outcome ? " · " + tt(OUTCOMES[h.outcome], h.outcome) : ""))) : null,
      p ? pastConversations(c, p.id) : null);
  }

  /** "高腰直筒牛仔裤 蓝色 M ×1" in the console's language (the SKU when the catalog lacks it). */
  function itemText(i) {
    const p = catalog.get(i.sku);
    if (!p) return `${i.sku} ${i.color} ${sizeName(i.size)} ×${i.qty}`;
    return `${t(p.name.zh, p.name.en)} ${colorName(p, i.color, Kefu.lang())} ${sizeName(i.size)} ×${i.qty}`;
  }

  /** The catalog's size ids that are words, in the console's language (as the bot says them). */
  const SIZE_NAMES = { "one-size": ["均码", "One size"], custom: ["定制尺寸", "Custom size"], "3-drawer": ["3层抽屉", "3 drawers"] };
  function sizeName(size) {
    const n = SIZE_NAMES[size];
    return n ? t(n[0], n[1]) : size;
  }

  /** A product colour's name in `lang` (its id when the catalog does not know it). */
  function colorName(p, id, lang) {
    const c = p.colors.find((x) => x.id === id);
    return c ? (lang === "zh" ? c.zh : c.en) : id;
  }

  /** Product lookup beside the chat: search the catalog, see stock per colour and size, put a
   *  summary in the reply box (in the conversation's language). */
  function productLookup(c) {
    const input = el("input", { type: "search", id: "product-search", "aria-label": t("搜索商品", "Search products"),
      placeholder: t("商品名、款式、SKU…", "Name, style, SKU…") });
    const results = el("div.product-results", { id: "product-results", "aria-live": "polite" });
    const form = el("form.product-form", { role: "search", onsubmit: async (e) => {
      e.preventDefault();
      const q = input.value.trim();
      if (!q) return;
      fill(results, el("p.muted.small", t("搜索中…", "Searching…")));
      try {
        const hits = await api("GET", "/api/products?limit=5&q=" + encodeURIComponent(q));
        fill(results, hits.length ? hits.map((p) => productCard(c, p)) : el("p.muted.small", t("没有找到商品", "No product found")));
      } catch (err) { fill(results, el("p.form-error", err.message)); }
    } }, input, el("button", { type: "submit" }, t("搜索", "Search")));
    return el("details.ctx-box", { id: "products" },
      el("summary", el("h3", t("查商品与库存", "Products and stock"))), form, results);
  }

  function productCard(c, p) {
    const zh = c.lang === "zh";
    const byColor = p.colors.map((col) => ({
      id: col.id,
      sizes: p.variants.filter((v) => v.color === col.id),
    }));
    const inStock = byColor.map((b) => ({ id: b.id, sizes: b.sizes.filter((v) => v.stock > 0).map((v) => v.size) }))
      .filter((b) => b.sizes.length);
    const summary = zh
      ? `${p.name.zh}，¥${p.price}。` + (inStock.length ? "有货：" + inStock.map((b) => `${colorName(p, b.id, c.lang)} ${b.sizes.join("/")}`).join("；") + "。" : "目前全部缺货。")
        + (p.returnable ? "支持七天无理由退货。" : "")
      : `${p.name.en}, ¥${p.price}. ` + (inStock.length ? "In stock: " + inStock.map((b) => `${colorName(p, b.id, c.lang)} ${b.sizes.join("/")}`).join("; ") + "." : "Out of stock for now.")
        + (p.returnable ? " 7-day no-reason returns apply." : "");
    return el("div.product", { "data-sku": p.sku },
      el("div.order-head", el("strong", t(p.name.zh, p.name.en)), el("span", money(p.price))),
      el("div.small.muted", p.sku, p.returnable ? "" : " · " + t("不支持七天无理由", "no 7-day return")),
      el("table.stock", el("tbody", byColor.map((b) => el("tr", el("th", colorName(p, b.id, Kefu.lang())),
        el("td", b.sizes.map((v) => el("span.size" + (v.stock > 0 ? "" : ".none"), `${v.size} ${v.stock}`))))))),
      el("button.link", { type: "button", onclick: () => {
        if (!ui.composer) return;
        ui.composer.value = (ui.composer.value.trim() ? ui.composer.value.replace(/\s*$/, " ") : "") + summary;
        ui.composer.dispatchEvent(new Event("input"));
        ui.composer.focus();
      } }, t("填入回复", "Put in reply")));
  }

  function orderCard(o) {
    const last = o.tracking && o.tracking.length ? o.tracking[o.tracking.length - 1] : null;
    return el("div.order", { "data-order": o.order_no },
      el("div.order-head", el("span.order-no", o.order_no), el("span.badge", tt(ORDER_STATUS[o.status], o.status))),
      el("ul.order-items", o.items.map((i) => el("li", itemText(i), el("span.muted", " " + money(i.unit_price))))),
      el("div.small", t("实付 ", "Paid "), money(o.total), o.shipping_insurance ? el("span.badge", t("运费险", "Return insurance")) : null,
        " · ", Kefu.time(o.created_at)),
      o.courier ? el("div.small.muted", o.courier, " ", o.tracking_no || "") : null,
      last ? el("div.small", Kefu.time(last.time), " ", Kefu.lang() === "zh" ? last.zh : last.en) : null,
      o.return ? el("div.small.muted", t("退货 ", "Return "), o.return.return_id, " · ", o.return.status, " · ", money(o.return.refund_amount)) : null,
      el("div.small.muted", o.address.city, " ", o.address.detail));
  }

  function pastConversations(c, shopperId) {
    const box = el("details.ctx-box", { ontoggle: async (e) => {
      if (!e.target.open || box.dataset.loaded) return;
      box.dataset.loaded = "1";
      try {
        const rows = (await api("GET", `/api/conversations?shopper=${encodeURIComponent(shopperId)}&limit=20`)).filter((r) => r.id !== c.id);
        fill(list, rows.length ? rows.map((r) => el("li.small", Kefu.time(r.started_at), " · ", t(`${r.messages} 条消息`, `${r.messages} messages`),
          r.escalation_reason ? " · " + reasonText(r.escalation_reason) : "", r.rating ? " · " + "★".repeat(r.rating) : ""))
          : el("li.muted", t("没有其他会话", "No other conversations")));
      } catch (err) { fill(list, el("li.form-error", err.message)); }
    } });
    const list = el("ul.past", el("li.muted", t("加载中…", "Loading…")));
    box.append(el("summary", el("h3", t("历史会话", "Past conversations"))), list);
    return box;
  }

  // ---- attention: title flash and a chime -----------------------------------------------------------
  let flashTimer = null;
  const baseTitle = () => t("客服工作台", "Agent console") + " · kefu";
  function flash(what) {
    if (document.hasFocus() && !document.hidden) return;
    stopFlash();
    let on = false;
    flashTimer = setInterval(() => {
      on = !on;
      document.title = on ? `【${what}】` + baseTitle() : baseTitle();
    }, 900);
    document.title = `【${what}】` + baseTitle();
  }
  function stopFlash() {
    if (flashTimer) clearInterval(flashTimer);
    flashTimer = null;
    document.title = baseTitle();
  }
  let audio = null;
  function unlockSound() {
    try { audio = audio || new AudioContext(); } catch (_) { audio = null; }
  }
  function chime() {
    if (!audio) return;
    try {
      const now = audio.currentTime;
      [880, 1320].forEach((freq, i) => {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, now + i * 0.15);
        gain.gain.exponentialRampToValueAtTime(0.2, now + i * 0.15 + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.15 + 0.3);
        osc.connect(gain).connect(audio.destination);
        osc.start(now + i * 0.15);
        osc.stop(now + i * 0.15 + 0.32);
      });
    } catch (_) { /* no sound is fine: the title flashes */ }
  }

  function shortcuts(e) {
    if (!e.altKey || (e.key !== "ArrowDown" && e.key !== "ArrowUp")) return;
    if (document.activeElement && document.activeElement.tagName === "SELECT") return;
    const ids = [...convs.keys()];
    if (!ids.length) return;
    e.preventDefault();
    const i = ids.indexOf(selected);
    select(ids[(i + (e.key === "ArrowDown" ? 1 : ids.length - 1)) % ids.length]);
  }

  Kefu.boot({ roles: ["agent", "admin"], title: { zh: "客服工作台", en: "Agent console" },
    start: (staff, main) => { start(staff, main); renderMine(); renderQueue(); } });
})();
