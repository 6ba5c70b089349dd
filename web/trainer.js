// kefu trainer console (/trainer): the knowledge base (FAQ entries, intent examples) with
// validation, history and revert; the review queue of questions the bot did not resolve; training,
// comparing and activating intent models; analytics charts. Everything from data goes on the page
// as text (Kefu.el / textContent); charts are SVG built node by node.
"use strict";

(() => {
  const { el, fill, t, api } = Kefu;
  const SVG_NS = "http://www.w3.org/2000/svg";

  const CATEGORIES = ["pre-sale", "in-sale", "after-sale", "account", "policy"];
  const CATEGORY_NAMES = {
    "pre-sale": ["售前", "Pre-sale"], "in-sale": ["售中", "In-sale"], "after-sale": ["售后", "After-sale"],
    account: ["账户", "Account"], policy: ["政策", "Policy"],
  };
  const INTENTS = ["order_status", "return_refund", "product_question", "shipping_delivery", "payment",
    "promotion_coupon", "account_membership", "invoice", "complaint", "human_agent", "greeting",
    "thanks_goodbye", "out_of_scope"];
  const REASONS = {
    no_match: ["无匹配", "No match"], suggest: ["不确定", "Unsure"], out_of_scope: ["超出范围", "Out of scope"],
    escalated: ["转人工", "Escalated"], low_rating: ["差评（仅机器人接待）", "Low rating (bot only)"],
  };
  const ESCALATION_REASONS = {
    requested: ["顾客要求转人工", "Shopper asked for a person"], complaint: ["投诉", "Complaint"],
    unresolved: ["机器人两次未能解决", "Bot could not resolve it twice"], transfer: ["同事转接", "Transferred"],
    agent_disconnected: ["上一位客服掉线", "Previous agent disconnected"],
  };
  const ACTIONS = {
    import: ["导入", "import"], create: ["新建", "create"], update: ["修改", "update"],
    delete: ["删除", "delete"], revert: ["撤销", "revert"],
  };
  const tt = (pair) => (pair ? t(pair[0], pair[1]) : "");
  const catName = (c) => (CATEGORY_NAMES[c] ? tt(CATEGORY_NAMES[c]) : c);
  const pct = (x, digits = 1) => (x === null || x === undefined ? "—" : (x * 100).toFixed(digits) + "%");
  const lines = (text) => text.split("\n").map((s) => s.trim()).filter(Boolean);
  let uid = 0;
  const nextId = (p) => `${p}-${++uid}`;

  /** A message for an API error, in the console's language where we know the code. */
  function errText(err) {
    if (!(err instanceof Kefu.ApiError)) return String(err && err.message || err);
    if (err.status === 403) return t("没有权限", "Not allowed");
    if (err.status === 0 || !err.status) return t("网络错误", "Network error");
    return err.message || `HTTP ${err.status}`;
  }

  // ---- tabs ------------------------------------------------------------------------------------
  const TABS = [
    { id: "faq", label: ["FAQ 知识库", "FAQ"], make: () => faqTab() },
    { id: "intents", label: ["意图样例", "Intents"], make: () => intentTab() },
    { id: "try", label: ["试一试", "Try it"], make: () => tryTab() },
    { id: "review", label: ["待处理问题", "Review"], make: () => reviewTab() },
    { id: "models", label: ["模型", "Models"], make: () => modelsTab() },
    { id: "analytics", label: ["数据分析", "Analytics"], make: () => analyticsTab() },
  ];

  /** Shared between tabs: e.g. the review queue opens a new FAQ prefilled. */
  const app = { tabs: {}, show: null };

  function start(me, main) {
    const bar = el("nav.tabs", { role: "tablist", "aria-label": t("训练师功能", "Trainer tools") });
    const panels = el("div.tab-panels");
    const buttons = {};
    for (const tab of TABS) {
      const b = el("button.tab", {
        type: "button", role: "tab", id: "tab-" + tab.id, "aria-controls": "panel-" + tab.id,
        "aria-selected": "false", tabindex: "-1", onclick: () => show(tab.id),
      }, tt(tab.label));
      buttons[tab.id] = b;
      bar.appendChild(b);
    }
    bar.addEventListener("keydown", (e) => {
      const i = TABS.findIndex((x) => buttons[x.id] === document.activeElement);
      if (i < 0) return;
      let j = null;
      if (e.key === "ArrowRight") j = (i + 1) % TABS.length;
      else if (e.key === "ArrowLeft") j = (i - 1 + TABS.length) % TABS.length;
      else if (e.key === "Home") j = 0;
      else if (e.key === "End") j = TABS.length - 1;
      if (j === null) return;
      e.preventDefault();
      show(TABS[j].id);
      buttons[TABS[j].id].focus();
    });
    let current = null;
    function show(id) {
      const tab = TABS.find((x) => x.id === id) || TABS[0];
      if (!app.tabs[tab.id]) {
        const made = tab.make();
        made.panel.id = "panel-" + tab.id;
        made.panel.setAttribute("role", "tabpanel");
        made.panel.setAttribute("aria-labelledby", "tab-" + tab.id);
        made.panel.classList.add("tab-panel");
        app.tabs[tab.id] = made;
        panels.appendChild(made.panel);
      }
      for (const x of TABS) {
        const on = x.id === tab.id;
        buttons[x.id].setAttribute("aria-selected", String(on));
        buttons[x.id].tabIndex = on ? 0 : -1;
        if (app.tabs[x.id]) app.tabs[x.id].panel.hidden = !on;
      }
      if (current !== tab.id && app.tabs[tab.id].shown) app.tabs[tab.id].shown();
      current = tab.id;
      if (location.hash !== "#" + tab.id) history.replaceState(null, "", "#" + tab.id);
      return app.tabs[tab.id];
    }
    app.show = show;
    fill(main, bar, panels);
    main.classList.add("trainer");
    show((location.hash || "#faq").slice(1));
    window.addEventListener("hashchange", () => show(location.hash.slice(1)));
  }

  // ---- knowledge-base editor (FAQ entries and intents share it) ---------------------------------
  /**
   * A list of entries on the left and an editor on the right. `spec`:
   * - `prefix` ("faq" / "intent"): element ids (`#faq-list`, `#faq-save`…) and `data-faq`.
   * - `path` ("faqs" / "intents"): the API's kind.
   * - `fields`: [{name, label, kind: "text"|"textarea"|"select"|"lines", options, rows, hint}].
   * - `toForm(entry)`: field name → value; `fromForm(values, id)`: the document to send.
   * - `summary(entry)`: [title, subtitle] for the list; `search(entry)`: text searched.
   * - `fieldFor(problem)`: which field a validator message is about (or null).
   */
  function kbTab(spec) {
    const P = spec.prefix;
    let entries = [];
    let loaded = false;
    let current = null; // {id, version, updated_by, updated_at, entry} or {isNew: true}
    let baseVersion = null;
    let pendingReview = null; // a review group key this new entry resolves
    const drafts = new Map(); // id → form values not saved yet
    let pristine = null; // the form values as loaded

    // list side
    const search = el("input", { type: "search", id: P + "-search", placeholder: spec.searchPlaceholder,
      "aria-label": t("搜索", "Search"), oninput: () => renderList() });
    const filter = spec.filter ? el("select", { id: P + "-filter", "aria-label": t("分类", "Category"), onchange: () => renderList() },
      el("option", { value: "" }, t("全部分类", "All categories")),
      spec.filter.map(([v, label]) => el("option", { value: v }, label))) : null;
    const count = el("p.list-count.muted", { "aria-live": "polite" });
    const list = el("ul.entry-list", { id: P + "-list", "aria-label": spec.listLabel });
    const newButton = el("button.primary", { type: "button", id: P + "-new", onclick: () => openNew() }, spec.newLabel);
    const side = el("section.kb-side", { "aria-label": spec.listLabel },
      el("div.kb-side-tools", search, newButton), filter, count, list);

    // editor side
    const heading = el("h2.editor-title", { id: P + "-editor-title" });
    const status = el("p.editor-status", { id: P + "-status", "aria-live": "polite" });
    const banner = el("div.editor-banners");
    const errors = el("div.form-errors", { id: P + "-errors", role: "alert", tabindex: "-1" });
    const inputs = {};
    const fieldErrors = {};
    const counters = {};
    const form = el("form.kb-form", { id: P + "-editor", "aria-labelledby": P + "-editor-title", novalidate: true });
    const rows = el("div.field-grid");
    for (const f of spec.fields) {
      const id = `${P}-${f.name}`;
      let input;
      if (f.kind === "select") {
        input = el("select", { id, name: f.name }, f.options().map(([v, label]) => el("option", { value: v }, label)));
      } else if (f.kind === "textarea" || f.kind === "lines") {
        input = el("textarea", { id, name: f.name, rows: f.rows || 4, spellcheck: f.kind === "textarea" ? "true" : "false" });
      } else {
        input = el("input", { id, name: f.name, type: "text", autocomplete: "off" });
      }
      const errId = id + "-error";
      const err = el("p.field-error", { id: errId, hidden: true });
      const hintId = f.hint ? id + "-hint" : null;
      input.setAttribute("aria-describedby", [hintId, errId].filter(Boolean).join(" "));
      const counter = f.kind === "lines" ? el("span.line-count.muted", { "aria-hidden": "true" }) : null;
      if (counter) input.addEventListener("input", () => updateCounter(f.name));
      input.addEventListener("input", () => { markDirty(); clearFieldError(f.name); });
      input.addEventListener("change", () => markDirty());
      inputs[f.name] = input;
      fieldErrors[f.name] = err;
      counters[f.name] = counter;
      rows.appendChild(el("div.field" + (f.wide ? ".wide" : "") + (f.half ? ".half" : ""), { "data-field": f.name },
        el("div.field-label", el("label", { for: id }, f.label), counter),
        input,
        f.hint ? el("p.field-hint.muted", { id: hintId }, f.hint) : null,
        err));
    }
    const save = el("button.primary", { type: "submit", id: P + "-save" }, t("保存", "Save"));
    const del = el("button.danger", { type: "button", id: P + "-delete", onclick: () => remove() }, t("删除", "Delete"));
    const historyButton = el("button", { type: "button", id: P + "-history", "aria-expanded": "false",
      "aria-controls": P + "-revisions", onclick: () => toggleHistory() }, t("修改历史", "History"));
    const revisions = el("section.revisions", { id: P + "-revisions", hidden: true, "aria-label": t("修改历史", "History") });
    revisions.addEventListener("keydown", (e) => {
      if (e.key === "Escape") { closeHistory(); historyButton.focus(); }
    });
    const dirtyNote = el("span.dirty-note", { hidden: true }, t("有未保存的修改", "Unsaved changes"));
    const draftNote = el("p.banner.warn.draft-note", { id: P + "-draft-note", hidden: true, role: "status" });
    form.append(errors, rows, draftNote,
      el("div.form-actions", save, historyButton, dirtyNote, el("span.spacer"), del));
    form.addEventListener("submit", (e) => { e.preventDefault(); submit(); });
    form.addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === "s") { e.preventDefault(); submit(); }
    });
    const empty = el("div.editor-empty.muted", spec.emptyText);
    const editorBody = el("div.editor-body", { hidden: true }, heading, status, banner, form, revisions);
    const editor = el("section.kb-editor", { "aria-label": t("编辑器", "Editor") }, empty, editorBody);
    const panel = el("div.kb-page", el("div.kb-layout", side, editor));

    function values() {
      const v = {};
      for (const f of spec.fields) v[f.name] = inputs[f.name].value;
      return v;
    }
    function setValues(v) {
      for (const f of spec.fields) {
        inputs[f.name].value = v[f.name] === undefined ? "" : v[f.name];
        inputs[f.name].scrollTop = 0;
        updateCounter(f.name);
      }
    }
    function updateCounter(name) {
      if (!counters[name]) return;
      const n = lines(inputs[name].value).length;
      counters[name].textContent = t(`${n} 条`, `${n} line${n === 1 ? "" : "s"}`);
    }
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    function isDirty() { return current && pristine && !same(values(), pristine); }
    function markDirty() {
      dirtyNote.hidden = !isDirty();
      const note = spec.draftNote && current && pristine ? spec.draftNote(values(), pristine) : null;
      draftNote.hidden = !note;
      draftNote.textContent = note || "";
    }

    function clearErrors() {
      errors.replaceChildren();
      for (const f of spec.fields) clearFieldError(f.name);
    }
    function clearFieldError(name) {
      const err = fieldErrors[name];
      if (err.hidden) return;
      err.hidden = true;
      err.replaceChildren();
      inputs[name].removeAttribute("aria-invalid");
      err.closest(".field").classList.remove("invalid");
    }
    /** Validator messages next to their fields; the rest above the form. */
    function showProblems(problems) {
      clearErrors();
      const rest = [];
      let first = null;
      for (const p of problems) {
        const name = spec.fieldFor(p);
        if (name && fieldErrors[name]) {
          const err = fieldErrors[name];
          err.hidden = false;
          err.appendChild(el("span", p));
          inputs[name].setAttribute("aria-invalid", "true");
          err.closest(".field").classList.add("invalid");
          if (!first) first = inputs[name];
        } else rest.push(p);
      }
      const placed = problems.length - rest.length;
      Kefu.append(errors, [
        el("p.form-error-title", t(`保存失败：${problems.length} 个问题`, `Not saved: ${problems.length} problem${problems.length === 1 ? "" : "s"}`),
          placed ? t("（已在对应字段下标出）", " (marked at the fields)") : ""),
        rest.length ? el("ul", rest.map((p) => el("li", p))) : null]);
      if (first) first.focus(); else errors.focus();
    }

    /** The entry's standing warning (an FAQ whose two answers were not edited together). */
    function showWarning(entry) {
      const old = document.getElementById(P + "-answers-warning");
      if (old) old.remove();
      const w = spec.warning && spec.warning(entry);
      if (w) banner.appendChild(el("div.banner.warn", { id: P + "-answers-warning", role: "status" }, w.long));
    }

    function showStatus(entry) {
      status.dataset.version = String(entry.version);
      fill(status,
        el("span.version-badge", t(`版本 ${entry.version}`, `v${entry.version}`)), " ",
        el("span.muted", t(`${entry.updated_by} 更新于 ${Kefu.time(entry.updated_at)}`,
          `updated by ${entry.updated_by}, ${Kefu.time(entry.updated_at)}`)));
    }

    async function load(force) {
      if (loaded && !force) return;
      try {
        entries = await api("GET", `/api/kb/${spec.path}`);
        loaded = true;
        spec.onEntries && spec.onEntries(entries);
        renderList();
      } catch (err) {
        fill(list, el("li.muted", t("加载失败：", "Could not load: ") + errText(err)));
      }
    }

    function renderList() {
      const q = search.value.trim().toLowerCase();
      const cat = filter ? filter.value : "";
      const shown = entries.filter((e) => (!cat || e.entry.category === cat) && (!q || spec.search(e).toLowerCase().includes(q)));
      count.textContent = t(`共 ${entries.length} 条，显示 ${shown.length} 条`, `${shown.length} of ${entries.length}`);
      fill(list, shown.map((e) => {
        const [title, sub, meta] = spec.summary(e);
        const selected = current && !current.isNew && current.id === e.id;
        return el("li", el("button.entry" + (selected ? ".selected" : "") + (drafts.has(e.id) ? ".has-draft" : ""), {
          type: "button", ["data-" + P]: e.id, "aria-current": selected ? "true" : null,
          onclick: () => open(e.id),
        }, el("span.entry-id", e.id, drafts.has(e.id) ? el("span.draft-dot", { title: t("有未保存的修改", "Unsaved changes") }, " •") : null),
        meta ? el("span.entry-meta", meta) : null,
        el("span.entry-title", title), sub ? el("span.entry-sub.muted", sub) : null,
        spec.warning && spec.warning(e) ? el("span.entry-warn", { "data-warning": "answers" }, "⚠ ", spec.warning(e).short) : null));
      }));
      if (!shown.length) list.appendChild(el("li.muted.list-empty", t("没有匹配的条目", "Nothing matches")));
    }

    /** Keeps unsaved edits of the entry being left, so coming back restores them. */
    function stash() {
      if (current && !current.isNew && isDirty()) drafts.set(current.id, { values: values(), version: baseVersion });
      else if (current && !current.isNew) drafts.delete(current.id);
    }

    function showEditor(title) {
      empty.hidden = true;
      editorBody.hidden = false;
      heading.textContent = title;
      banner.replaceChildren();
      clearErrors();
      closeHistory();
    }

    async function open(id, opts = {}) {
      stash();
      let entry;
      try {
        entry = await api("GET", `/api/kb/${spec.path}/${encodeURIComponent(id)}`);
      } catch (err) {
        Kefu.toast(errText(err), "error");
        if (err.status === 404) load(true);
        return;
      }
      current = entry;
      pendingReview = null;
      showEditor(spec.title(entry));
      inputs.id.readOnly = true;
      del.hidden = false;
      historyButton.hidden = false;
      setValues(spec.toForm(entry.entry));
      pristine = values();
      baseVersion = entry.version;
      showStatus(entry);
      showWarning(entry);
      const draft = drafts.get(id);
      if (draft && !opts.discardDraft) {
        setValues(draft.values);
        baseVersion = draft.version;
        banner.appendChild(el("div.banner.info", t("已恢复你未保存的修改。", "Your unsaved changes are back. "),
          el("button.link", { type: "button", onclick: () => { drafts.delete(id); open(id, { discardDraft: true }); } },
            t("放弃修改", "Discard them"))));
        if (draft.version !== entry.version) conflict(entry, true);
      }
      drafts.delete(id);
      markDirty();
      renderList();
      if (opts.focus !== false) {
        const f = inputs[spec.focusField || "id"];
        f.focus();
        if (f.setSelectionRange) { f.setSelectionRange(0, 0); f.scrollTop = 0; }
      }
    }

    /** A new entry; `preset` fills some fields, `reviewKey` is resolved once it is created. */
    function openNew(preset, reviewKey) {
      stash();
      current = { isNew: true };
      pendingReview = reviewKey || null;
      showEditor(spec.newLabel);
      inputs.id.readOnly = false;
      del.hidden = true;
      historyButton.hidden = true;
      setValues(Object.assign(spec.toForm(null), preset || {}));
      pristine = spec.toForm(null);
      baseVersion = null;
      delete status.dataset.version;
      fill(status, el("span.muted", t("新条目，尚未保存", "New entry, not saved yet")));
      if (reviewKey) banner.appendChild(el("div.banner.info", t("保存后，这个待处理问题会标记为已解决。",
        "Once saved, the review question is marked resolved.")));
      markDirty();
      renderList();
      inputs.id.focus();
    }

    /** Someone else saved first: say so, offer their version or keeping ours on top of it. */
    function conflict(theirs, fromDraft) {
      banner.replaceChildren();
      if (!theirs) {
        banner.appendChild(el("div.banner.warn", { id: P + "-conflict", role: "alert" },
          t("这个条目已被别人删除。", "Someone else deleted this entry. "),
          el("button.link", { type: "button", onclick: () => { load(true); openNewFromDeleted(); } },
            t("另存为新条目", "Save it as a new entry"))));
        return;
      }
      const box = el("div.banner.warn", { id: P + "-conflict", role: "alert" },
        el("p", fromDraft
          ? t(`在你离开后，${theirs.updated_by} 于 ${Kefu.time(theirs.updated_at)} 修改了这个条目（版本 ${theirs.version}）。`,
            `${theirs.updated_by} changed this entry (v${theirs.version}, ${Kefu.time(theirs.updated_at)}) since you started editing.`)
          : t(`保存失败：${theirs.updated_by} 于 ${Kefu.time(theirs.updated_at)} 已修改了这个条目（版本 ${theirs.version}）。`,
            `Not saved: ${theirs.updated_by} changed this entry meanwhile (v${theirs.version}, ${Kefu.time(theirs.updated_at)}).`)),
        el("div.banner-actions",
          el("button.primary", { type: "button", id: P + "-load-theirs", onclick: () => {
            drafts.delete(theirs.id);
            current = theirs;
            setValues(spec.toForm(theirs.entry));
            pristine = values();
            baseVersion = theirs.version;
            showStatus(theirs);
            banner.replaceChildren();
            clearErrors();
            markDirty();
            Kefu.toast(t("已载入对方的版本", "Loaded their version"), "ok");
          } }, t("载入对方的版本", "Load their version")),
          el("button", { type: "button", id: P + "-keep-mine", onclick: () => {
            baseVersion = theirs.version;
            current = theirs;
            pristine = spec.toForm(theirs.entry);
            showStatus(theirs);
            banner.replaceChildren();
            markDirty();
            Kefu.toast(t("再次保存会用你的内容覆盖对方的修改", "Saving again replaces their change with yours"));
            save.focus();
          } }, t("保留我的修改", "Keep mine"))));
      banner.appendChild(box);
      box.querySelector("button").focus();
    }
    function openNewFromDeleted() {
      const v = values();
      current = { isNew: true };
      inputs.id.readOnly = false;
      del.hidden = true;
      historyButton.hidden = true;
      baseVersion = null;
      pristine = spec.toForm(null);
      setValues(v);
      banner.replaceChildren();
      fill(status, el("span.muted", t("新条目，尚未保存", "New entry, not saved yet")));
    }

    async function submit() {
      if (!current) return;
      clearErrors();
      const v = values();
      const id = v.id.trim();
      const doc = spec.fromForm(v, id);
      save.disabled = true;
      try {
        let entry;
        if (current.isNew) {
          entry = await api("POST", `/api/kb/${spec.path}`, doc);
        } else {
          entry = await api("PUT", `/api/kb/${spec.path}/${encodeURIComponent(current.id)}`, { version: baseVersion, entry: doc });
        }
        const wasNew = current.isNew;
        current = entry;
        baseVersion = entry.version;
        inputs.id.readOnly = true;
        del.hidden = false;
        historyButton.hidden = false;
        heading.textContent = spec.title(entry);
        setValues(spec.toForm(entry.entry));
        pristine = values();
        banner.replaceChildren();
        showStatus(entry);
        showWarning(entry);
        markDirty();
        const i = entries.findIndex((e) => e.id === entry.id);
        if (i >= 0) entries[i] = entry; else entries.push(entry);
        entries.sort((a, b) => a.id.localeCompare(b.id));
        spec.onEntries && spec.onEntries(entries);
        renderList();
        if (!revisions.hidden) showHistory();
        Kefu.toast(wasNew ? t("已创建", "Created") : t(`已保存（版本 ${entry.version}）${spec.savedNote || ""}`,
          `Saved (v${entry.version})${spec.savedNoteEn || ""}`), "ok");
        if (wasNew && pendingReview) {
          const key = pendingReview;
          pendingReview = null;
          try {
            await api("POST", `/api/review/${key}/resolve`, { action: "faq", target: entry.id });
            app.tabs.review && app.tabs.review.resolved(key);
            Kefu.toast(t("待处理问题已标记为解决", "The review question is resolved"), "ok");
          } catch (err) { Kefu.toast(errText(err), "error"); }
        }
      } catch (err) {
        if (err.status === 409 && err.code === "conflict") {
          if (current.isNew) showProblems([t(`id “${id}” 已被占用`, `The id "${id}" is taken`)]);
          else conflict(err.body && err.body.current);
        } else if (err.status === 404 && !current.isNew) {
          conflict(null);
        } else if (err.body && Array.isArray(err.body.problems)) {
          showProblems(err.body.problems);
        } else if (err.status === 400) {
          showProblems([errText(err)]);
        } else {
          Kefu.toast(errText(err), "error");
        }
      } finally {
        save.disabled = false;
      }
    }

    let deleteArmed = null;
    async function remove() {
      if (!current || current.isNew) return;
      if (!deleteArmed) {
        del.textContent = t("确认删除？", "Really delete?");
        del.classList.add("armed");
        deleteArmed = setTimeout(disarm, 4000);
        return;
      }
      disarm();
      try {
        await api("DELETE", `/api/kb/${spec.path}/${encodeURIComponent(current.id)}?version=${baseVersion}`);
        Kefu.toast(t(`已删除 ${current.id}（可在历史中恢复）`, `Deleted ${current.id} (its history can bring it back)`), "ok");
        const gone = current.id;
        entries = entries.filter((e) => e.id !== gone);
        spec.onEntries && spec.onEntries(entries);
        current = null;
        editorBody.hidden = true;
        empty.hidden = false;
        renderList();
      } catch (err) {
        if (err.status === 409) conflict(err.body && err.body.current);
        else if (err.status === 404) conflict(null);
        else Kefu.toast(errText(err), "error");
      }
    }
    function disarm() {
      clearTimeout(deleteArmed);
      deleteArmed = null;
      del.textContent = t("删除", "Delete");
      del.classList.remove("armed");
    }

    // history
    function closeHistory() {
      revisions.hidden = true;
      historyButton.setAttribute("aria-expanded", "false");
    }
    function toggleHistory() {
      if (!revisions.hidden) { closeHistory(); return; }
      revisions.hidden = false;
      historyButton.setAttribute("aria-expanded", "true");
      showHistory();
    }
    async function showHistory() {
      if (!current || current.isNew) return;
      const id = current.id;
      fill(revisions, el("p.muted", t("加载中…", "Loading…")));
      let revs;
      try {
        revs = await api("GET", `/api/kb/${spec.path}/${encodeURIComponent(id)}/history`);
      } catch (err) {
        fill(revisions, el("p.form-error", errText(err)));
        return;
      }
      fill(revisions,
        el("div.revisions-head", el("h3", t(`修改历史（${revs.length}）`, `History (${revs.length})`)),
          el("button.link", { type: "button", onclick: closeHistory }, t("关闭", "Close"))),
        el("p.muted.small", t("撤销某次修改会让条目回到修改之前的样子（生成一个新版本）。只能从最新的修改开始撤销。",
          "Reverting a change puts the entry back as it was before it (as a new version). Revert the newest changes first.")),
        el("ol.revision-list", revs.map((r, i) => revisionRow(r, i === 0))));
    }
    function revisionRow(r, newest) {
      const changes = spec.diff(r.before, r.after);
      const removes = r.before === null || r.before === undefined;
      const revert = el("button.revert", { type: "button", "data-revision": r.id }, removes
        ? t("撤销（删除该条目）", "Revert (removes the entry)")
        : r.after === null ? t("撤销（恢复该条目）", "Revert (restores the entry)") : t("撤销", "Revert"));
      let armed = false;
      revert.addEventListener("click", async () => {
        if (removes && !armed) {
          armed = true;
          revert.textContent = t("确认删除该条目？", "Really remove the entry?");
          revert.classList.add("armed");
          return;
        }
        revert.disabled = true;
        try {
          const res = await api("POST", `/api/kb/revisions/${r.id}/revert`);
          Kefu.toast(t(`已撤销修改 #${r.id}`, `Reverted change #${r.id}`), "ok");
          await load(true);
          if (res.entry) { drafts.delete(res.entry.id); await open(res.entry.id, { discardDraft: true, focus: false }); toggleHistory(); }
          else {
            current = null; editorBody.hidden = true; empty.hidden = false; renderList();
          }
        } catch (err) {
          revert.disabled = false;
          Kefu.toast(err.status === 409 ? t("这之后还有更新的修改：请先撤销更新的修改。", "Later changes were made since: revert those first.")
            : errText(err), "error");
        }
      });
      return el("li.revision" + (newest ? ".newest" : ""),
        el("div.revision-head",
          el("span.badge", tt(ACTIONS[r.action]) || r.action),
          el("strong", t(`版本 ${r.version}`, `v${r.version}`)),
          el("span", r.author), el("time.muted", { datetime: r.at, title: r.at }, Kefu.time(r.at)),
          el("span.spacer"), revert),
        changes.length ? el("ul.changes", changes.map((c) => el("li",
          el("span.change-field", c.field), " ",
          c.removed && c.removed.length ? el("span.removed", c.removed.map((x) => el("del", x))) : null,
          c.added && c.added.length ? el("span.added", c.added.map((x) => el("ins", x))) : null,
          c.note ? el("span.muted", c.note) : null))) : null);
    }

    return {
      panel,
      shown: () => load(),
      load,
      openNew: (preset, key) => { load().then(() => openNew(preset, key)); },
      open,
      entries: () => entries,
    };
  }

  /** The changed fields between two documents, for the history. */
  function diffDocs(before, after, fields) {
    const out = [];
    for (const [field, get, kind] of fields) {
      const a = before ? get(before) : undefined;
      const b = after ? get(after) : undefined;
      if (JSON.stringify(a) === JSON.stringify(b)) continue;
      if (kind === "list") {
        const A = a || [], B = b || [];
        out.push({ field, removed: A.filter((x) => !B.includes(x)), added: B.filter((x) => !A.includes(x)),
          note: A.length && B.length && A.filter((x) => !B.includes(x)).length === 0 && B.filter((x) => !A.includes(x)).length === 0
            ? t("（顺序调整）", "(reordered)") : null });
      } else {
        out.push({ field, removed: a !== undefined && a !== "" ? [String(a)] : [], added: b !== undefined && b !== "" ? [String(b)] : [] });
      }
    }
    return out;
  }

  // ---- FAQ ---------------------------------------------------------------------------------------
  function faqTab() {
    const fieldOf = (raw) => {
      if (/bad id|has no id|已被占用|is taken/.test(raw)) return "id";
      const p = raw.replace(/^FAQ "(?:[^"\\]|\\.)*":\s*/, "").replace(/^FAQ entry:\s*/, "");
      if (/category/.test(p)) return "category";
      if (/unknown intent/.test(p)) return "intent";
      if (/\btags?\b/.test(p)) return "tags";
      let m = p.match(/\b(zh|en) questions?\b|missing language (zh|en)/);
      if (m) return "questions-" + (m[1] || m[2]);
      m = p.match(/\b(zh|en) answer\b/);
      if (m) return "answer-" + m[1];
      return null;
    };
    const spec = {
      prefix: "faq",
      path: "faqs",
      searchPlaceholder: t("搜索 id、问法、答案、标签…", "Search id, questions, answers, tags…"),
      listLabel: t("FAQ 条目", "FAQ entries"),
      newLabel: t("新建 FAQ", "New FAQ"),
      emptyText: t("在左侧选择一个 FAQ 条目进行编辑，或新建一个。", "Pick an FAQ entry on the left to edit it, or make a new one."),
      savedNote: "，顾客立即可见", savedNoteEn: ", live for shoppers",
      focusField: "questions-zh",
      filter: CATEGORIES.map((c) => [c, catName(c)]),
      fields: [
        { name: "id", label: "ID", kind: "text", half: true, hint: t("小写字母、数字和 -，例如 return-7day-policy", "Lowercase letters, digits and '-', e.g. return-7day-policy") },
        { name: "category", label: t("分类", "Category"), kind: "select", half: true,
          options: () => CATEGORIES.map((c) => [c, `${catName(c)} (${c})`]) },
        { name: "intent", label: t("关联意图", "Intent"), kind: "select", half: true,
          options: () => [["", t("（无）", "(none)")]].concat(INTENTS.map((i) => [i, i])) },
        { name: "tags", label: t("标签（逗号分隔）", "Tags (comma separated)"), kind: "text", half: true },
        { name: "questions-zh", label: t("中文问法（每行一个）", "Chinese questions (one per line)"), kind: "lines", rows: 7, half: true,
          hint: t("至少 3 个", "At least 3") },
        { name: "questions-en", label: t("英文问法（每行一个）", "English questions (one per line)"), kind: "lines", rows: 7, half: true,
          hint: t("至少 3 个", "At least 3") },
        { name: "answer-zh", label: t("中文答案", "Chinese answer"), kind: "textarea", rows: 5, half: true },
        { name: "answer-en", label: t("英文答案", "English answer"), kind: "textarea", rows: 5, half: true },
      ],
      title: (e) => e.id,
      toForm: (d) => d ? {
        id: d.id, category: d.category, intent: d.intent || "", tags: (d.tags || []).join(", "),
        "questions-zh": d.zh.questions.join("\n"), "questions-en": d.en.questions.join("\n"),
        "answer-zh": d.zh.answer, "answer-en": d.en.answer,
      } : { id: "", category: "pre-sale", intent: "", tags: "", "questions-zh": "", "questions-en": "", "answer-zh": "", "answer-en": "" },
      fromForm: (v, id) => {
        const doc = {
          id, category: v.category,
          tags: v.tags.split(/[,，\n]/).map((s) => s.trim()).filter(Boolean),
          zh: { questions: lines(v["questions-zh"]), answer: v["answer-zh"].trim() },
          en: { questions: lines(v["questions-en"]), answer: v["answer-en"].trim() },
        };
        if (v.intent) doc.intent = v.intent;
        return doc;
      },
      summary: (e) => [e.entry.zh.questions[0] || "", e.entry.en.questions[0] || "", catName(e.entry.category)],
      search: (e) => [e.id, e.entry.category, e.entry.intent || "", (e.entry.tags || []).join(" "),
        e.entry.zh.questions.join(" "), e.entry.en.questions.join(" "), e.entry.zh.answer, e.entry.en.answer].join(" "),
      fieldFor: fieldOf,
      diff: (a, b) => diffDocs(a, b, [
        [t("分类", "category"), (d) => d.category], [t("意图", "intent"), (d) => d.intent || ""],
        [t("标签", "tags"), (d) => d.tags || [], "list"],
        [t("中文问法", "zh questions"), (d) => d.zh.questions, "list"], [t("英文问法", "en questions"), (d) => d.en.questions, "list"],
        [t("中文答案", "zh answer"), (d) => d.zh.answer], [t("英文答案", "en answer"), (d) => d.en.answer],
      ]),
      onEntries: (list) => { faqIndex = list; },
      warning: answersWarning,
      draftNote: (v, before) => {
        const zh = v["answer-zh"].trim() !== before["answer-zh"].trim();
        const en = v["answer-en"].trim() !== before["answer-en"].trim();
        if (zh === en) return null;
        return zh ? t("你只改了中文答案：英文答案也需要一起改吗？", "You changed the Chinese answer only: does the English one need the same change?")
          : t("你只改了英文答案：中文答案也需要一起改吗？", "You changed the English answer only: does the Chinese one need the same change?");
      },
    };
    return kbTab(spec);
  }
  /**
   * An FAQ entry whose answers were not edited together (the server's `answers.behind`, from its
   * revisions): a short mark for the list and a sentence for the editor.
   */
  function answersWarning(e) {
    const a = e && e.answers;
    if (!a || !a.behind) return null;
    const ahead = a.behind === "zh" ? a.en : a.zh, behind = a.behind === "zh" ? a.zh : a.en;
    const [aheadZh, behindZh, aheadEn, behindEn] = a.behind === "zh" ? ["英文", "中文", "English", "Chinese"] : ["中文", "英文", "Chinese", "English"];
    const since = behind ? t(`${behindZh}答案最后修改于版本 ${behind.version}`, `the ${behindEn} one was last changed in v${behind.version}`)
      : t(`${behindZh}答案之后没有改过`, `the ${behindEn} one has not changed since`);
    return {
      short: t(`${behindZh}答案待同步`, `${behindEn} answer behind`),
      long: ahead ? t(`${behindZh}答案可能需要同步更新：${aheadZh}答案在版本 ${ahead.version}（${ahead.by}，${Kefu.time(ahead.at)}）改过，${since}。修改并保存${behindZh}答案后，这条提醒会消失。`,
        `The ${behindEn} answer may be out of date: the ${aheadEn} answer changed in v${ahead.version} (${ahead.by}, ${Kefu.time(ahead.at)}); ${since}. Saving a change to the ${behindEn} answer clears this.`)
        : t(`${behindZh}答案可能需要同步更新。`, `The ${behindEn} answer may be out of date.`),
    };
  }

  /** The FAQ entries as last loaded (the review queue offers them as targets). */
  let faqIndex = [];

  // ---- intents -----------------------------------------------------------------------------------
  function intentTab() {
    const spec = {
      prefix: "intent",
      path: "intents",
      searchPlaceholder: t("搜索意图或样例…", "Search intents or examples…"),
      listLabel: t("意图", "Intents"),
      newLabel: t("新建意图", "New intent"),
      emptyText: t("在左侧选择一个意图编辑它的训练样例。修改在下一次训练模型后生效。",
        "Pick an intent on the left to edit its training examples. Changes take effect with the next trained model."),
      savedNote: "，下次训练生效", savedNoteEn: "; used by the next training",
      focusField: "examples-zh",
      fields: [
        { name: "id", label: t("意图名称", "Intent name"), kind: "text", wide: true, hint: t("小写字母、数字和 _", "Lowercase letters, digits and '_'") },
        { name: "examples-zh", label: t("中文样例（每行一个）", "Chinese examples (one per line)"), kind: "lines", rows: 18, half: true },
        { name: "examples-en", label: t("英文样例（每行一个）", "English examples (one per line)"), kind: "lines", rows: 18, half: true },
      ],
      title: (e) => e.id,
      toForm: (d) => d ? { id: d.intent, "examples-zh": d.zh.join("\n"), "examples-en": d.en.join("\n") }
        : { id: "", "examples-zh": "", "examples-en": "" },
      fromForm: (v, id) => ({ intent: id, zh: lines(v["examples-zh"]), en: lines(v["examples-en"]) }),
      summary: (e) => [t(`中文 ${e.entry.zh.length} · 英文 ${e.entry.en.length}`, `${e.entry.zh.length} zh · ${e.entry.en.length} en`), e.entry.zh[0] || ""],
      search: (e) => [e.id, e.entry.zh.join(" "), e.entry.en.join(" ")].join(" "),
      fieldFor: (p) => {
        if (/intent name|已被占用|taken/.test(p)) return "id";
        const m = p.match(/no (zh|en) examples/);
        if (m) return "examples-" + m[1];
        return null;
      },
      diff: (a, b) => diffDocs(a, b, [
        [t("中文样例", "zh examples"), (d) => d.zh, "list"], [t("英文样例", "en examples"), (d) => d.en, "list"],
      ]),
    };
    const tab = kbTab(spec);
    tab.panel.prepend(el("p.tab-note.muted", t("意图样例用于训练意图分类模型：保存后在“模型”页训练并启用新模型才会生效。",
      "Intent examples train the intent classifier: after saving, train and activate a model on the Models tab.")));
    return tab;
  }

  // ---- try it ------------------------------------------------------------------------------------
  const DECISIONS = {
    answer: ["直接回答", "Answers"], suggest: ["给出建议", "Suggests"], no_match: ["无匹配", "No match"],
  };
  const prob = (x) => (x * 100).toFixed(1) + "%";

  /** A question through the FAQ search and two intent models side by side (POST /api/try). */
  function tryTab() {
    const text = el("textarea", { id: "try-text", rows: 2, placeholder: t("输入顾客可能会问的问题，例如：发票怎么开", "Type what a shopper might ask, e.g. where is my order"),
      "aria-label": t("要试的问题", "Question to try") });
    const candidate = el("select", { id: "try-candidate", "aria-label": t("对比的模型版本", "Model version to compare") });
    const run = el("button.primary", { type: "submit", id: "try-run" }, t("试一试", "Try it"));
    const status = el("p.muted.small", { id: "try-status", "aria-live": "polite" });
    const results = el("div.try-results", { id: "try-results" });
    const form = el("form.try-form", { id: "try-form" },
      el("label.try-label", { for: "try-text" }, t("问题", "Question")), text,
      el("div.toolbar", el("label", { for: "try-candidate" }, t("对比模型", "Compare with"), candidate), run));
    form.addEventListener("submit", (e) => { e.preventDefault(); go(); });
    text.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); go(); } });
    const panel = el("div.page", { id: "try" },
      el("div.section-title", el("h2", t("试一试", "Try it")), el("span.muted", t("看看一个问题会得到哪个 FAQ 答案，以及当前模型和候选模型分别认为它是什么意图。不会保存，也不影响顾客。",
        "See which FAQ answer a question gets, and which intents the model in force and a candidate see in it. Nothing is stored; shoppers are not affected."))),
      form, status, results);

    async function loadVersions() {
      let listing;
      try { listing = await api("GET", "/api/models"); } catch (_) { return; }
      const keep = candidate.value;
      const others = listing.versions.filter((v) => !v.active);
      fill(candidate, el("option", { value: "" }, t("（不对比）", "(none)")),
        others.map((v) => el("option", { value: v.id }, v.id === "shipped" ? t("shipped（随代码发布）", "shipped (in the repository)") : v.id)));
      // the newest other version by default: usually the one just trained
      candidate.value = others.some((v) => v.id === keep) ? keep : (others[0] ? others[0].id : "");
    }

    async function go() {
      const q = text.value.trim();
      if (!q) { text.focus(); status.textContent = t("请输入一个问题", "Type a question"); return; }
      run.disabled = true;
      status.textContent = t("查询中…", "Looking…");
      try {
        const body = { text: q };
        if (candidate.value) body.candidate = candidate.value;
        render(await api("POST", "/api/try", body));
        status.textContent = "";
      } catch (err) {
        status.textContent = t("失败：", "Failed: ") + errText(err);
      } finally {
        run.disabled = false;
      }
    }

    /** A probability as a bar (its width set through the CSSOM: the CSP allows no style attributes). */
    function bar(p) {
      const fillBar = el("span");
      fillBar.style.width = Math.round(p * 100) + "%";
      return el("span.try-bar", { "aria-hidden": "true" }, fillBar);
    }

    function modelCard(m, id, other) {
      if (!m) {
        return el("section.card.try-model", { id }, el("h3", t("候选模型", "Candidate")),
          el("p.muted.small", t("在上方选择一个版本进行对比。", "Choose a version above to compare.")));
      }
      const differs = other && other.intent !== m.intent;
      return el("section.card.try-model", { id, "data-intent": m.intent },
        el("h3", id === "try-active" ? t("当前模型", "Model in force") : t("候选模型", "Candidate"), " ", el("span.mono.muted", m.version)),
        el("p.try-intent", t("判定意图：", "Intent: "), el("strong.mono", m.intent), " ", el("span.muted", prob(m.confidence)),
          differs ? el("span.badge.warn", t("与另一模型不同", "differs")) : null),
        el("ol.try-top", m.top.map((x) => el("li", { "data-intent": x.intent },
          el("span.mono", x.intent),
          bar(x.probability),
          el("span.num", prob(x.probability))))));
    }

    function render(r) {
      const f = r.faq;
      const faqCard = el("section.card.try-faq", { id: "try-faq", "data-decision": f.decision },
        el("h3", t("FAQ 检索", "FAQ search")),
        el("p", el("span.badge" + (f.decision === "answer" ? "" : f.decision === "suggest" ? ".warn" : ".bad"), { id: "try-decision" }, tt(DECISIONS[f.decision]) || f.decision), " ",
          el("span.muted.small", t(`置信度 ${f.confidence.toFixed(2)}（回答 ≥ ${f.answer_threshold.toFixed(2)}，建议 ≥ ${f.suggest_threshold.toFixed(2)}，${r.lang === "zh" ? "中文" : "英文"}）`,
            `confidence ${f.confidence.toFixed(2)} (answer ≥ ${f.answer_threshold.toFixed(2)}, suggest ≥ ${f.suggest_threshold.toFixed(2)}, ${r.lang})`))),
        f.hits.length ? el("ol.try-hits", f.hits.map((h, i) => el("li", { "data-faq": h.id },
          el("div", el("button.link.mono", { type: "button", onclick: () => app.show("faq").open(h.id) }, h.id), " ",
            el("span.muted.small", h.score.toFixed(2)), i === 0 && f.decision === "answer" ? el("span.badge", t("会用这个回答", "answered with")) : null),
          el("div.small", h.question),
          el("div.muted.small.try-answer", h.answer))))
          : el("p.muted.small", t("没有找到任何 FAQ 条目。", "No FAQ entry found.")));
      fill(results, faqCard, el("div.try-models", modelCard(r.active, "try-active", r.candidate),
        modelCard(r.candidate, "try-candidate-result", r.active)));
    }

    return { panel, shown: () => { loadVersions(); text.focus(); } };
  }

  // ---- review queue ------------------------------------------------------------------------------
  function reviewTab() {
    const since = el("select", { id: "review-since", onchange: () => load() },
      [[7, t("最近 7 天", "Last 7 days")], [30, t("最近 30 天", "Last 30 days")], [90, t("最近 90 天", "Last 90 days")]]
        .map(([d, label]) => el("option", { value: d, selected: d === 30 }, label)));
    const lang = el("select", { id: "review-lang", onchange: () => load() },
      el("option", { value: "" }, t("全部语言", "All languages")), el("option", { value: "zh" }, "中文"),
      el("option", { value: "en" }, "English"));
    const refresh = el("button", { type: "button", id: "review-refresh", onclick: () => load() }, t("刷新", "Refresh"));
    const summary = el("p.muted", { id: "review-summary", "aria-live": "polite" });
    const list = el("ul.review-list", { id: "review-list", "aria-label": t("待处理问题", "Unresolved questions") });
    const panel = el("div.page",
      el("div.section-title", el("h2", t("待处理问题", "Unresolved questions")),
        el("span.muted", t("机器人没能解决的顾客问题，按相似问法归组，问得最多的在前。",
          "Shopper questions the bot did not resolve, grouped by similar wording, most asked first."))),
      el("div.toolbar",
        el("label", t("时间", "Since"), since), el("label", t("语言", "Language"), lang), refresh),
      summary, list);
    let intents = [];

    async function load() {
      summary.textContent = t("加载中…", "Loading…");
      // the store's days (business timezone), not the browser's: the server counts them back
      const q = new URLSearchParams({ days: since.value, limit: "200" });
      if (lang.value) q.set("lang", lang.value);
      try {
        const [data] = await Promise.all([
          api("GET", "/api/review?" + q),
          faqIndex.length ? null : api("GET", "/api/kb/faqs").then((l) => { faqIndex = l; }),
          intents.length ? null : api("GET", "/api/kb/intents").then((l) => { intents = l.map((e) => e.id); }).catch(() => { intents = INTENTS.slice(); }),
        ]);
        render(data);
      } catch (err) {
        summary.textContent = t("加载失败：", "Could not load: ") + errText(err);
      }
    }

    /** What the summary counts: kept up to date as groups leave the queue. */
    let counts = null;
    function renderSummary() {
      if (!counts) return;
      const { total, messages, shown, since, to } = counts;
      summary.dataset.total = String(total);
      summary.textContent = total
        ? t(`${since} 至 ${to} 共 ${total} 组（${messages} 条消息）${shown < total ? `，显示前 ${shown} 组` : ""}`,
          `${total} group${total === 1 ? "" : "s"} (${messages} message${messages === 1 ? "" : "s"}) from ${since} to ${to}${shown < total ? `, the first ${shown} shown` : ""}`)
        : t(`${since} 至 ${to} 没有待处理的问题`, `Nothing to review from ${since} to ${to}`);
    }
    /** A group left the queue (dismissed or resolved here or in another tab). */
    function left(g) {
      if (!counts) return;
      counts.total = Math.max(0, counts.total - 1);
      counts.messages = Math.max(0, counts.messages - g.count);
      counts.shown = Math.max(0, counts.shown - 1);
      renderSummary();
    }

    function render(data) {
      counts = { total: data.total, messages: data.messages, shown: data.groups.length, since: data.since, to: data.to };
      renderSummary();
      fill(list, data.groups.map(item));
      if (!data.groups.length) list.appendChild(el("li.empty-state.muted", t("没有待处理的问题 🎉", "Nothing to review 🎉")));
    }

    function faqOptions(selected) {
      return [el("option", { value: "" }, t("选择 FAQ…", "Choose an FAQ…"))].concat(faqIndex.map((f) =>
        el("option", { value: f.id, selected: f.id === selected }, `${f.id} · ${f.entry.zh.questions[0] || ""}`)));
    }

    function item(g) {
      const li = el("li.review-item", { "data-review": g.key });
      const textId = nextId("review-text");
      const phrase = el("input.phrase", { id: textId, value: g.representative, "aria-label": t("要添加的问法", "Phrasing to add") });
      const faqSel = el("select", { "aria-label": t("添加到哪个 FAQ", "FAQ to add it to") }, faqOptions(g.faq_id));
      const intentSel = el("select", { "aria-label": t("添加到哪个意图", "Intent to add it to") },
        el("option", { value: "" }, t("选择意图…", "Choose an intent…")), intents.map((i) => el("option", { value: i }, i)));
      const buttons = [];
      const act = async (button, body, done) => {
        buttons.forEach((b) => { b.disabled = true; });
        try {
          await api("POST", `/api/review/${g.key}/${body ? "resolve" : "dismiss"}`, body);
          Kefu.toast(done, "ok");
          remove();
        } catch (err) {
          buttons.forEach((b) => { b.disabled = false; });
          Kefu.toast(errText(err), "error");
        }
      };
      const text = () => phrase.value.trim() || g.representative;
      const addPhrasing = el("button.primary.review-phrasing", { type: "button", onclick: () => {
        if (!faqSel.value) { faqSel.focus(); Kefu.toast(t("请先选择 FAQ", "Choose an FAQ first"), "error"); return; }
        act(addPhrasing, { action: "phrasing", target: faqSel.value, text: text() },
          t(`已添加到 FAQ ${faqSel.value}，立即生效`, `Added to FAQ ${faqSel.value}; live now`));
      } }, t("加为 FAQ 问法", "Add to FAQ"));
      const addExample = el("button.review-example", { type: "button", onclick: () => {
        if (!intentSel.value) { intentSel.focus(); Kefu.toast(t("请先选择意图", "Choose an intent first"), "error"); return; }
        act(addExample, { action: "intent", target: intentSel.value, text: text() },
          t(`已加为意图 ${intentSel.value} 的样例（下次训练生效）`, `Added as an example of ${intentSel.value} (used by the next training)`));
      } }, t("加为意图样例", "Add as intent example"));
      const newFaq = el("button.review-new-faq", { type: "button", onclick: () => {
        const tab = app.show("faq");
        const preset = g.lang === "en" ? { "questions-en": text() } : { "questions-zh": text() };
        tab.openNew(preset, g.key);
      } }, t("新建 FAQ…", "New FAQ…"));
      const dismiss = el("button.review-dismiss", { type: "button", onclick: () =>
        act(dismiss, undefined, t("已忽略", "Dismissed")) }, t("忽略", "Dismiss"));
      buttons.push(addPhrasing, addExample, newFaq, dismiss);
      function remove() {
        if (li.classList.contains("leaving")) return;
        left(g);
        li.classList.add("leaving");
        const next = li.nextElementSibling || li.previousElementSibling;
        setTimeout(() => {
          li.remove();
          if (next && next.querySelector) { const b = next.querySelector("input, button"); if (b) b.focus(); }
          if (!list.querySelector("[data-review]")) list.appendChild(el("li.empty-state.muted", t("没有待处理的问题 🎉", "Nothing to review 🎉")));
        }, 250);
      }
      li._remove = remove;
      return fill(li,
        el("div.review-top",
          el("span.review-count", { title: t("被问次数", "Times asked") }, `×${g.count}`),
          el("span.review-text", { lang: g.lang === "zh" ? "zh-CN" : "en" }, g.representative),
          el("span.badge", g.lang === "zh" ? "中文" : "EN"),
          Object.entries(g.reasons).map(([r, n]) => el("span.badge" + (r === "low_rating" || r === "escalated" ? ".bad" : ".warn"),
            tt(REASONS[r]) || r, n > 1 ? ` ${n}` : "")),
          el("span.spacer"),
          el("time.muted.small", { datetime: g.last_seen }, t("最近：", "Last: ") + Kefu.time(g.last_seen))),
        g.faq_id ? el("p.muted.small", t("机器人用了 FAQ：", "The bot answered with FAQ: "),
          el("button.link", { type: "button", onclick: () => { app.show("faq").open(g.faq_id); } }, g.faq_id)) : null,
        el("ul.review-examples", { "aria-label": t("顾客的原话", "What shoppers wrote") }, g.examples.map((e) => el("li",
          el("span.example-text", { lang: g.lang === "zh" ? "zh-CN" : "en" }, e.text),
          e.escalated_by ? el("span.escalated-by", t(`，随后说“${e.escalated_by}”转了人工`, ` — then "${e.escalated_by}" handed it to a person`)) : null,
          " ", el("button.link.review-conversation", { type: "button", "data-conversation": e.conversation_id, "data-message": e.message_id,
            onclick: (ev) => showConversation(e.conversation_id, e.message_id, ev.currentTarget) },
          t("查看对话", "Open the conversation")),
          el("time.muted.small", { datetime: e.at }, " ", Kefu.time(e.at))))),
        el("div.review-actions",
          el("label", { for: textId }, t("问法", "Phrasing"), phrase),
          el("div.group", faqSel, addPhrasing),
          el("div.group", intentSel, addExample),
          newFaq, el("span.spacer"), dismiss));
    }

    // one conversation's transcript, the message in question marked (GET /api/conversations/{id})
    const SENDER = { shopper: ["顾客", "Shopper"], bot: ["机器人", "Bot"], agent: ["客服", "Agent"], system: ["系统", "System"] };
    const convTitle = el("h2", { id: "review-conversation-title" });
    const convBody = el("div.conversation-body");
    const convDialog = el("dialog.conversation", { id: "review-conversation", "aria-labelledby": "review-conversation-title" },
      el("div.section-title", convTitle, el("span.spacer"),
        el("button", { type: "button", id: "review-conversation-close", onclick: () => convDialog.close() }, t("关闭", "Close"))),
      convBody);
    panel.appendChild(convDialog);
    let opener = null;
    convDialog.addEventListener("close", () => { if (opener) opener.focus(); });
    async function showConversation(id, messageId, from) {
      opener = from;
      convTitle.textContent = t(`对话 ${id}`, `Conversation ${id}`);
      fill(convBody, el("p.muted", t("加载中…", "Loading…")));
      if (!convDialog.open) convDialog.showModal();
      let c;
      try {
        c = await api("GET", `/api/conversations/${encodeURIComponent(id)}`);
      } catch (err) {
        fill(convBody, el("p.form-error", errText(err)));
        return;
      }
      const marked = [];
      fill(convBody,
        el("p.muted.small", Kefu.time(c.started_at), c.escalation_reason ? t(` · 转人工原因：${tt(ESCALATION_REASONS[c.escalation_reason]) || c.escalation_reason}`,
          ` · escalated: ${tt(ESCALATION_REASONS[c.escalation_reason]) || c.escalation_reason}`) : ""),
        el("ol.transcript", c.transcript.map((m) => {
          const li = el("li.msg.from-" + m.sender + (m.id === messageId ? ".marked" : ""), { "data-message": m.id },
            el("span.who", tt(SENDER[m.sender]) || m.sender, m.meta && m.meta.decision ? el("span.badge", m.meta.decision) : null),
            el("span.what", m.meta && m.meta.image ? Kefu.photo(id, m.meta.image) : m.text),
            el("time.muted.small", { datetime: m.created_at }, Kefu.time(m.created_at)));
          if (m.id === messageId) marked.push(li);
          return li;
        })));
      if (marked[0]) marked[0].scrollIntoView({ block: "center" });
    }

    return {
      panel, shown: () => load(), load,
      resolved: (key) => {
        const li = list.querySelector(`[data-review="${CSS.escape(key)}"]`);
        if (li && li._remove) li._remove();
      },
    };
  }
  // ---- models ------------------------------------------------------------------------------------
  const JOB_KEY = "kefu.trainer.job";

  function modelsTab() {
    let listing = null;
    let compared = null; // the version in #comparison
    let polling = null;

    const activeCard = el("section.card", { id: "model-active", "aria-labelledby": "model-active-title" });
    const epochs = el("input", { id: "train-epochs", type: "number", min: 1, max: 200, placeholder: "25", inputmode: "numeric" });
    const seed = el("input", { id: "train-seed", type: "number", min: 0, placeholder: "42", inputmode: "numeric" });
    const trainButton = el("button.primary", { type: "button", id: "train", onclick: () => train() }, t("训练新模型", "Train a new model"));
    const bar = el("div.bar");
    const progress = el("div.progress", { id: "train-progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100,
      "aria-valuenow": 0, "aria-label": t("训练进度", "Training progress") }, bar);
    const progressText = el("p.progress-text", { id: "train-progress-text", "aria-live": "polite" });
    const trainCard = el("section.card", { "aria-labelledby": "train-title" },
      el("h2", { id: "train-title" }, t("训练", "Train")),
      el("p.muted.small", t("用当前知识库里的意图样例在后台训练新版本，并在保留测试集上与当前模型对比。训练完成后不会自动启用。",
        "Trains a new version in the background from the intent examples as they stand, and compares it with the model in force on the held-out set. It is not put in force until you activate it.")),
      el("div.train-row",
        el("label", { for: "train-epochs" }, t("轮数", "Epochs"), epochs),
        el("label", { for: "train-seed" }, t("随机种子", "Seed"), seed),
        trainButton),
      progress, progressText);
    const comparison = el("section.card", { id: "comparison", "aria-labelledby": "comparison-title", "aria-live": "polite" });
    const versions = el("section.card", { id: "model-versions", "aria-labelledby": "versions-title" });
    const panel = el("div.page", el("div.cards", activeCard, trainCard), comparison, versions);

    const fmt = (x) => (x === null || x === undefined ? "—" : (x * 100).toFixed(1) + "%");
    function delta(d, strong) {
      if (d === null || d === undefined) return el("span.delta-flat", "—");
      const pts = d * 100;
      const cls = pts > 0.05 ? "delta-up" : pts < -0.05 ? "delta-down" : "delta-flat";
      const arrow = pts > 0.05 ? "▲ " : pts < -0.05 ? "▼ " : "";
      return el("span." + cls, { title: t("百分点", "percentage points") }, arrow + (pts > 0 ? "+" : pts < 0 ? "−" : "±") + Math.abs(pts).toFixed(strong ? 2 : 1));
    }
    const metricRows = [
      ["accuracy", t("准确率", "Accuracy")], ["macro_f1", "Macro F1"], ["in_scope_accuracy", t("范围内准确率", "In-scope accuracy")],
      ["oos_precision", t("超范围精确率", "Out-of-scope precision")], ["oos_recall", t("超范围召回率", "Out-of-scope recall")],
    ];

    async function load() {
      try {
        listing = await api("GET", "/api/models");
      } catch (err) {
        fill(activeCard, el("p.form-error", errText(err)));
        return;
      }
      renderActive();
      renderVersions();
      if (!compared) renderComparison(null);
      const job = sessionStorage.getItem(JOB_KEY);
      if (job && !polling) poll(job);
    }

    function renderActive() {
      const v = listing.versions.find((x) => x.active) || { id: listing.active };
      const m = v.metrics;
      const target = listing.rollback_to;
      fill(activeCard,
        el("h2", { id: "model-active-title" }, t("当前模型", "Model in force")),
        el("p", el("strong.mono", { id: "active-version" }, listing.active), " ",
          el("span.muted.small", v.created ? t(`${v.who} 训练于 ${Kefu.time(v.created)}`, `trained by ${v.who}, ${Kefu.time(v.created)}`) : v.who || "")),
        m ? el("div.kpis", metricRows.slice(0, 2).concat([metricRows[4]]).map(([k, label]) =>
          el("div.kpi", el("span.value", fmt(m[k])), el("span.label", label))),
        el("div.kpi", el("span.value", String(m.examples)), el("span.label", t("测试样例", "Held-out examples")))) : null,
        el("div.comparison-actions",
          el("button", { type: "button", id: "rollback", disabled: !target, onclick: () => rollback() },
            target ? t(`回滚到 ${target}`, `Roll back to ${target}`) : t("回滚", "Roll back")),
          el("span.muted.small", { id: "rollback-note" }, rollbackNote(target, listing.last_change))));
    }

    /** Why the rollback button does what it does, from the last line of the model history. */
    function rollbackNote(target, last) {
      if (target) return t("回到上一次启用之前的模型", "Back to the model in force before the last activation");
      if (!last) return t("还没有启用过其他模型，无可回滚", "No other model has been activated: nothing to roll back to");
      const when = Kefu.time(last.time);
      if (last.kind === "rollback") {
        return t(`${last.who} 于 ${when} 回滚到了 ${last.version}，没有更早的版本可回滚`,
          `${last.who} rolled back to ${last.version} (${when}); there is nothing earlier to roll back to`);
      }
      return t(`${last.who} 于 ${when} 启用了 ${last.version}，没有更早的版本可回滚`,
        `${last.who} activated ${last.version} (${when}); there is nothing earlier to roll back to`);
    }

    function renderVersions() {
      fill(versions,
        el("h2", { id: "versions-title" }, t("所有版本", "Versions")),
        el("div.table-wrap", el("table", { id: "versions-table" },
          el("thead", el("tr", el("th", t("版本", "Version")), el("th", t("训练时间", "Trained")), el("th", t("训练者", "By")),
            el("th.num", t("训练样例", "Examples")), el("th.num", t("准确率", "Accuracy")), el("th.num", "Macro F1"), el("th", ""))),
          el("tbody", listing.versions.map((v) => el("tr" + (v.active ? ".is-active" : ""), { "data-version": v.id },
            el("td", el("span.mono", v.id), v.active ? [" ", el("span.badge", t("使用中", "in force"))] : null),
            el("td", v.created ? Kefu.time(v.created) : "—"),
            el("td", v.who || ""),
            el("td.num", v.meta ? String(v.meta.examples) : "—"),
            el("td.num", v.metrics ? fmt(v.metrics.accuracy) : "—"),
            el("td.num", v.metrics ? fmt(v.metrics.macro_f1) : "—"),
            el("td", v.active ? null : el("button.link", { type: "button", onclick: () => loadComparison(v.id) },
              t("对比并启用…", "Compare & activate…")))))))));
    }

    const METRIC_NAMES = { macro_f1: ["Macro F1", "Macro F1"], accuracy: ["准确率", "Accuracy"] };
    /** Why a candidate is worse, in the console's language, from the comparison's numbers. */
    function shortfallText(f, tolerance) {
      const name = tt(METRIC_NAMES[f.metric]) || f.metric;
      const pts = ((f.active - f.candidate) * 100).toFixed(1), tol = (tolerance * 100).toFixed(1);
      return t(`${name} ${fmt(f.candidate)}，比当前模型的 ${fmt(f.active)} 低 ${pts} 个百分点（容差 ${tol}）`,
        `${name} ${fmt(f.candidate)} is ${pts} points below the model in force (${fmt(f.active)}; tolerance ${tol})`);
    }

    function renderComparison(c, version, note) {
      compared = c ? version : null;
      const worse = !!c && !c.not_worse;
      // a worse model is not the obvious next step: no primary button; it asks first
      const activate = el(worse ? "button.danger" : "button.primary", { type: "button", id: "activate",
        disabled: !c || (listing && version === listing.active), "data-worse": worse ? "true" : null,
        onclick: () => (worse ? confirmOverride(version) : activateVersion(version, false)) },
      !c ? t("启用", "Activate") : worse ? t(`仍要启用 ${version}…`, `Activate ${version} anyway…`) : t(`启用 ${version}`, `Activate ${version}`));
      if (!c) {
        fill(comparison, el("h2", { id: "comparison-title" }, t("新旧模型对比", "Old vs new")),
          el("p.muted", note || t("训练完成后，或在下方版本列表中选择一个版本，这里会显示它与当前模型的对比。",
            "Train a model, or pick a version below, to compare it with the model in force.")), activate);
        return;
      }
      const overrideBox = el("div", { id: "activate-override-box" });
      fill(comparison,
        el("div.section-title", el("h2", { id: "comparison-title" }, t("新旧模型对比", "Old vs new")),
          el("span.muted", t(`候选 ${c.candidate.version} 对比当前 ${c.active.version}，保留测试集 ${c.examples} 条`,
            `candidate ${c.candidate.version} against ${c.active.version} in force, on ${c.examples} held-out examples`))),
        el("div.comparison-actions",
          el("span.verdict" + (c.not_worse ? ".ok" : ".worse"), c.not_worse ? t("不比当前差", "Not worse") : t("比当前差", "Worse")),
          activate,
          el("span.muted.small", t(`容差 ${(c.tolerance * 100).toFixed(1)} 个百分点`, `tolerance ${(c.tolerance * 100).toFixed(1)} points`))),
        c.shortfalls && c.shortfalls.length ? el("ul.form-error", { id: "comparison-reasons" }, c.shortfalls.map((f) => el("li", shortfallText(f, c.tolerance)))) : null,
        overrideBox,
        el("div.table-wrap", el("table.compare-overall",
          el("thead", el("tr", el("th", t("指标", "Metric")), el("th.num", t("当前", "Active")), el("th.num", t("候选", "Candidate")),
            el("th.num", t("变化（百分点）", "Change (points)")))),
          el("tbody", metricRows.map(([k, label]) => el("tr", el("td", label), el("td.num", fmt(c.active[k])),
            el("td.num", fmt(c.candidate[k])), el("td.num", delta(c.delta[k], true)))),
          c.per_lang.map((l) => el("tr", el("td", t(`准确率 · ${l.lang === "zh" ? "中文" : "英文"}（${l.examples} 条）`, `Accuracy · ${l.lang} (${l.examples})`)),
            el("td.num", fmt(l.active_accuracy)), el("td.num", fmt(l.candidate_accuracy)), el("td.num", delta(l.delta, true))))))),
        el("h3.section-title", t("各意图（按 F1 变化排序）", "Per intent (by change in F1)")),
        el("div.table-wrap", el("table.compare-intents",
          el("thead", el("tr", el("th", t("意图", "Intent")), el("th.num", t("样例", "Support")),
            el("th.num", t("精确率", "Precision")), el("th.num", t("召回率", "Recall")), el("th.num", "F1"),
            el("th.num", t("F1 变化", "F1 change")))),
          el("tbody", c.per_intent.slice().sort((a, b) => a.delta.f1 - b.delta.f1).map((r) => el("tr",
            el("td.mono", r.intent), el("td.num", String(r.support)),
            el("td.num", fmt(r.active.precision), " → ", fmt(r.candidate.precision), " ", delta(r.delta.precision)),
            el("td.num", fmt(r.active.recall), " → ", fmt(r.candidate.recall), " ", delta(r.delta.recall)),
            el("td.num", fmt(r.active.f1), " → ", fmt(r.candidate.f1)),
            el("td.num", delta(r.delta.f1, true))))))));
    }

    async function loadComparison(version) {
      renderComparison(null, null, t(`正在对比 ${version}…`, `Comparing ${version}…`));
      comparison.scrollIntoView({ block: "start", behavior: "smooth" });
      try {
        const c = await api("GET", `/api/models/${encodeURIComponent(version)}/comparison`);
        renderComparison(c, version);
      } catch (err) {
        renderComparison(null, null, t("对比失败：", "Could not compare: ") + errText(err));
      }
    }

    async function activateVersion(version, override) {
      const button = document.getElementById(override ? "activate-override" : "activate");
      if (button) button.disabled = true;
      try {
        const a = await api("POST", `/api/models/${encodeURIComponent(version)}/activate`, override ? { override: true } : {});
        Kefu.toast(a.changed ? t(`已启用 ${a.active}（替换 ${a.previous}）`, `${a.active} is in force (was ${a.previous})`)
          : t(`${a.active} 已经在使用中`, `${a.active} was already in force`), "ok");
        await load();
        renderComparison(null, null, t(`${a.active} 已启用。`, `${a.active} is in force.`));
      } catch (err) {
        if (button) button.disabled = false;
        if (err.status === 409 && err.code === "worse_than_active") {
          // measured again at activation (the model in force may have changed): show why
          if (err.body && err.body.comparison) renderComparison(err.body.comparison, version);
          confirmOverride(version);
        } else {
          Kefu.toast(errText(err), "error");
        }
      }
    }

    /** Activating a worse model needs a second, explicit decision. */
    function confirmOverride(version) {
      const box = document.getElementById("activate-override-box");
      if (!box) return;
      fill(box, el("div.banner.bad", { role: "alertdialog", "aria-labelledby": "override-title" },
        el("p", { id: "override-title" }, el("strong", t("这个模型比当前模型差。", "This model is worse than the one in force."))),
        el("p", t("仍要启用吗？顾客的下一条消息就会用它。", "Activate it anyway? Shoppers' next messages will use it.")),
        el("div.banner-actions",
          el("button.danger", { type: "button", id: "activate-override", onclick: () => activateVersion(version, true) },
            t("仍然启用", "Activate anyway")),
          el("button", { type: "button", onclick: () => { box.replaceChildren(); const a = document.getElementById("activate"); if (a) a.focus(); } },
            t("取消", "Cancel")))));
      document.getElementById("activate-override").focus();
    }

    async function rollback() {
      const b = document.getElementById("rollback");
      b.disabled = true;
      try {
        const a = await api("POST", "/api/models/rollback");
        Kefu.toast(t(`已回滚到 ${a.active}（原为 ${a.previous}）`, `Rolled back to ${a.active} (was ${a.previous})`), "ok");
        await load();
      } catch (err) {
        b.disabled = false;
        Kefu.toast(err.code === "nothing_to_roll_back" ? t("没有可回滚的模型", "There is nothing to roll back to") : errText(err), "error");
      }
    }

    function setProgress(frac, text, failed) {
      const p = Math.round(Math.max(0, Math.min(1, frac)) * 100);
      bar.style.width = p + "%";
      progress.setAttribute("aria-valuenow", String(p));
      progress.setAttribute("aria-valuetext", text);
      progress.dataset.percent = String(p);
      progress.classList.toggle("failed", !!failed);
      progressText.textContent = text;
    }

    async function train() {
      const body = {};
      if (epochs.value) body.epochs = Number(epochs.value);
      if (seed.value) body.seed = Number(seed.value);
      trainButton.disabled = true;
      try {
        const r = await api("POST", "/api/models/train", body);
        setProgress(0, t("已开始训练…", "Training started…"));
        poll(r.job);
      } catch (err) {
        if (err.status === 409 && err.body && err.body.job) {
          Kefu.toast(t("已有训练在进行，显示它的进度", "A training job is already running; showing its progress"));
          poll(err.body.job);
        } else {
          trainButton.disabled = false;
          setProgress(0, t("无法开始训练：", "Could not start training: ") + errText(err), true);
        }
      }
    }

    function poll(id) {
      sessionStorage.setItem(JOB_KEY, id);
      trainButton.disabled = true;
      clearTimeout(polling);
      polling = -1;
      const tick = async () => {
        let s;
        try {
          s = await api("GET", `/api/models/jobs/${encodeURIComponent(id)}`);
        } catch (err) {
          polling = null;
          trainButton.disabled = false;
          sessionStorage.removeItem(JOB_KEY);
          if (err.status !== 404) setProgress(0, errText(err), true);
          return;
        }
        progress.dataset.state = s.state;
        const pr = s.progress || { epoch: 0, epochs: s.epochs };
        if (s.state === "running") {
          setProgress(pr.epochs ? pr.epoch / pr.epochs * 0.95 : 0,
            t(`训练中：第 ${pr.epoch} / ${pr.epochs} 轮（${s.examples} 条样例）`, `Training: epoch ${pr.epoch} of ${pr.epochs} (${s.examples} examples)`));
        } else if (s.state === "evaluating") {
          setProgress(0.97, t("在保留测试集上评估…", "Evaluating on the held-out set…"));
        } else if (s.state === "done") {
          setProgress(1, t(`完成：新版本 ${s.version}`, `Done: new version ${s.version}`));
        } else {
          setProgress(1, t("训练失败：", "Training failed: ") + (s.error || ""), true);
        }
        if (s.state === "done" || s.state === "failed") {
          polling = null;
          trainButton.disabled = false;
          sessionStorage.removeItem(JOB_KEY);
          if (s.state === "done") {
            await load();
            if (s.comparison) renderComparison(s.comparison, s.version);
            else loadComparison(s.version);
            Kefu.toast(t(`训练完成：${s.version}`, `Training done: ${s.version}`), "ok");
          }
          return;
        }
        polling = setTimeout(tick, 400);
      };
      tick();
    }

    return { panel, shown: () => load() };
  }
  // ---- charts (SVG, built node by node) -----------------------------------------------------------
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") node.textContent = String(v);
      else node.setAttribute(k, String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  const tip = (text) => svg("title", { text });
  // Charts are drawn at the pixel width of their slot (one SVG unit = one CSS pixel), so their
  // text is the size the stylesheet says at any window width, never scaled down.
  const H = 240, M = { l: 48, r: 12, t: 14, b: 32 };
  const CHAR_PX = 7.5; // about the width of a 12 px character, for fitting labels

  /** Rounds a maximum up to 1, 2 or 5 × 10^n. */
  function niceMax(x) {
    if (!(x > 0)) return 1;
    const e = Math.pow(10, Math.floor(Math.log10(x)));
    for (const m of [1, 2, 2.5, 5, 10]) if (x <= m * e) return m * e;
    return 10 * e;
  }
  const shortLabel = (l) => (/^\d{4}-\d\d-\d\d$/.test(l) ? l.slice(5) : l.replace(/^\d{4}-/, ""));
  function chartRoot(w, h, label) {
    return svg("svg", { class: "chart", width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": label }, tip(label));
  }

  /** The frame of a chart over `labels`, `w` pixels wide: the svg, x(i), y(v), the step. */
  function frame(labels, max, yFmt, label, w) {
    const n = Math.max(labels.length, 1);
    const pw = w - M.l - M.r, ph = H - M.t - M.b;
    const step = pw / n;
    const x = (i) => M.l + step * (i + 0.5);
    const y = (v) => M.t + ph - (v / max) * ph;
    const root = chartRoot(w, H, label);
    for (let k = 0; k <= 4; k++) {
      const v = (max * k) / 4;
      root.appendChild(svg("line", { class: "grid", x1: M.l, x2: w - M.r, y1: y(v), y2: y(v) }));
      root.appendChild(svg("text", { x: M.l - 6, y: y(v) + 4, "text-anchor": "end", text: yFmt(v) }));
    }
    // as many x labels as fit (a label is about 5 characters wide)
    const fit = Math.max(1, Math.floor(pw / (6 * CHAR_PX)));
    const every = Math.ceil(labels.length / fit);
    labels.forEach((l, i) => {
      if (i % every === 0) root.appendChild(svg("text", { class: "x-label", x: x(i), y: H - M.b + 18, "text-anchor": "middle", text: shortLabel(l) }));
    });
    root.appendChild(svg("line", { class: "axis", x1: M.l, x2: w - M.r, y1: y(0), y2: y(0) }));
    return { root, x, y, step };
  }

  function legend(series) {
    return el("div.legend", series.map((s, i) => el("span", el("span.swatch." + (s.cls || "s" + i), { "aria-hidden": "true" }), s.name)));
  }

  /** Lines for rates (0..1); a null value leaves a gap. */
  function lineChart(labels, series, label, w) {
    const f = frame(labels, 1, (v) => Math.round(v * 100) + "%", label, w);
    series.forEach((s, si) => {
      let d = "";
      let pen = false;
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) { pen = false; return; }
        d += (pen ? " L" : " M") + f.x(i).toFixed(1) + " " + f.y(v).toFixed(1);
        pen = true;
      });
      if (d) f.root.appendChild(svg("path", { class: "line " + (s.cls || "s" + si), d: d.trim() }));
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        f.root.appendChild(svg("circle", { class: "dot " + (s.cls || "s" + si), cx: f.x(i), cy: f.y(v), r: 3.5 },
          tip(`${labels[i]} · ${s.name}: ${pct(v)}`)));
      });
    });
    return f.root;
  }

  /** Stacked bars of counts. */
  function barChart(labels, series, label, w) {
    const totals = labels.map((_, i) => series.reduce((a, s) => a + (s.values[i] || 0), 0));
    let max = niceMax(Math.max(0, ...totals));
    if (max >= 4 && max % 4) max = Math.ceil(max / 4) * 4; // whole-number ticks for counts
    const f = frame(labels, max, (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)), label, w);
    const bw = Math.max(2, Math.min(28, f.step * 0.7));
    labels.forEach((l, i) => {
      let base = 0;
      series.forEach((s, si) => {
        const v = s.values[i] || 0;
        if (!v) return;
        f.root.appendChild(svg("rect", { class: s.cls || "s" + si, x: f.x(i) - bw / 2, y: f.y(base + v), width: bw,
          height: Math.max(0.5, f.y(base) - f.y(base + v)) }, tip(`${l} · ${s.name}: ${v}`)));
        base += v;
      });
    });
    return f.root;
  }

  /** Horizontal bars: [{name, value, cls, title}], `w` pixels wide; names get the room they need. */
  function hbarChart(rows, label, fmtValue, w) {
    const h = 28 * rows.length + 10;
    const max = Math.max(1, ...rows.map((r) => r.value));
    const longest = Math.max(3, ...rows.map((r) => [...r.name].reduce((n, ch) => n + (ch.charCodeAt(0) > 0x2e80 ? 2 : 1), 0)));
    const lw = Math.min(Math.round(w * 0.45), Math.round(longest * CHAR_PX * 0.9) + 12);
    const pw = Math.max(40, w - lw - 80);
    const root = chartRoot(w, h, label);
    rows.forEach((r, i) => {
      const y = 6 + i * 28;
      const value = fmtValue ? fmtValue(r) : String(r.value);
      root.appendChild(svg("text", { class: "bar-name", x: lw - 8, y: y + 15, "text-anchor": "end", text: r.name }, tip(r.title || r.name)));
      root.appendChild(svg("rect", { class: r.cls || "s0", x: lw, y, width: Math.max(r.value ? 2 : 0, (r.value / max) * pw), height: 20, rx: 3 },
        tip(`${r.title || r.name}: ${value}`)));
      root.appendChild(svg("text", { class: "bar-value", x: lw + (r.value / max) * pw + 6, y: y + 15, text: value }));
    });
    return root;
  }

  /** A place for a chart, drawn (again) at the slot's width by `draw`. */
  function chartSlot(build) {
    const slot = el("div.chart-slot");
    slot._build = build;
    return slot;
  }
  function drawCharts(root) {
    for (const slot of root.querySelectorAll(".chart-slot")) {
      const w = Math.max(260, Math.floor(slot.clientWidth || 600));
      if (slot._drawn === w) continue;
      slot._drawn = w;
      fill(slot, slot._build(w));
    }
  }

  // ---- analytics ---------------------------------------------------------------------------------
  function analyticsTab() {
    const period = el("select", { id: "analytics-period", onchange: () => load() },
      el("option", { value: "day" }, t("按天", "By day")), el("option", { value: "week" }, t("按周（ISO）", "By ISO week")));
    const range = el("select", { id: "analytics-range", onchange: () => { custom.hidden = range.value !== "custom"; if (range.value !== "custom") load(); } },
      [[7, t("最近 7 天", "Last 7 days")], [30, t("最近 30 天", "Last 30 days")], [90, t("最近 90 天", "Last 90 days")],
        [365, t("最近一年", "Last year")], ["custom", t("自定义…", "Custom…")]]
        .map(([d, label]) => el("option", { value: d, selected: d === 30 }, label)));
    const from = el("input", { type: "date", id: "analytics-from" });
    const to = el("input", { type: "date", id: "analytics-to" });
    const custom = el("span.toolbar", { hidden: true },
      el("label", { for: "analytics-from" }, t("从", "From"), from), el("label", { for: "analytics-to" }, t("到", "To"), to),
      el("button", { type: "button", onclick: () => load() }, t("应用", "Apply")));
    const status = el("p.muted", { "aria-live": "polite" });
    const body = el("div.analytics-body");
    const panel = el("div.page", { id: "analytics" },
      el("div.section-title", el("h2", t("数据分析", "Analytics")), el("span.muted", t("机器人解决率、转人工率、评分、意图、FAQ 命中、未解决问题和人工客服时长。",
        "How the bot resolves, escalates, is rated, what shoppers ask, which FAQ entries answer, and how fast agents are."))),
      el("div.toolbar", el("label", { for: "analytics-period" }, t("粒度", "Buckets"), period),
        el("label", { for: "analytics-range" }, t("时间范围", "Range"), range), custom,
        el("button", { type: "button", id: "analytics-refresh", onclick: () => load() }, t("刷新", "Refresh"))),
      status, body);
    // redraw the charts at their new width when the window (or the layout) changes
    let resizeTimer = null;
    new ResizeObserver(() => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => drawCharts(body), 120); }).observe(body);

    async function load() {
      const q = new URLSearchParams({ period: period.value });
      if (range.value === "custom") {
        if (from.value) q.set("from", from.value);
        if (to.value) q.set("to", to.value);
      } else {
        // the store's last N days (its timezone), whatever the browser's clock says
        q.set("days", range.value);
      }
      status.textContent = t("加载中…", "Loading…");
      try {
        const [data] = await Promise.all([
          api("GET", "/api/analytics?" + q),
          faqIndex.length ? null : api("GET", "/api/kb/faqs").then((l) => { faqIndex = l; }).catch(() => {}),
        ]);
        status.textContent = t(`${data.from} 至 ${data.to}（时区 ${data.timezone}）`, `${data.from} to ${data.to} (timezone ${data.timezone})`);
        render(data);
      } catch (err) {
        status.textContent = t("加载失败：", "Could not load: ") + errText(err);
      }
    }

    function card(title, id, ...children) {
      return el("section.chart-card", { "aria-label": title, id }, el("h3", title), children);
    }
    const secs = (x) => (x === null || x === undefined ? "—" : Kefu.duration(x));

    function render(data) {
      const B = data.buckets;
      const T = data.total;
      const labels = B.map((b) => b.label);
      const dist = T.ratings.distribution;
      const rated = T.ratings.count;

      // top intents over the whole range, then per bucket
      const topIntents = T.top_intents.slice(0, 5).map((c) => c.name);
      const intentSeries = topIntents.map((name, i) => ({ name, cls: "s" + i,
        values: B.map((b) => (b.top_intents.find((c) => c.name === name) || { count: 0 }).count) }));
      const otherVals = B.map((b) => b.top_intents.filter((c) => !topIntents.includes(c.name)).reduce((a, c) => a + c.count, 0));
      if (otherVals.some((v) => v)) intentSeries.push({ name: t("其他", "other"), cls: "s5", values: otherVals });

      // unresolved per bucket: still open, dismissed, resolved since
      const U = (k) => B.map((b) => b.unresolved[k]);
      const unresolvedSeries = [
        { name: t("待处理", "Open"), values: U("open"), cls: "s1" },
        { name: t("已忽略", "Dismissed"), values: U("dismissed"), cls: "s5" },
        { name: t("已解决", "Resolved"), values: U("resolved"), cls: "s0" },
      ];

      const kpi = (value, label, id) => el("div.kpi.card", { id }, el("span.value", value), el("span.label", label));
      const noData = (n) => (n ? null : el("p.muted.small", t("这段时间没有数据。", "No data in this period.")));
      const starNames = ["1★", "2★", "3★", "4★", "5★"];
      const faqTitle = (id) => { const f = faqIndex.find((x) => x.id === id); return f ? `${id} · ${f.entry.zh.questions[0] || ""}` : id; };
      const reasons = Object.entries(T.escalation_reasons).sort((a, b) => b[1] - a[1]);
      const A = T.agents;
      const agentRow = (name, a, cls) => el("tr" + (cls || ""), el("td", name), el("td.num", String(a.handoffs)),
        el("td.num", secs(a.first_response_secs.average)), el("td.num", secs(a.first_response_secs.p90)),
        el("td.num", secs(a.handle_secs.average)), el("td.num", secs(a.handle_secs.p90)));
      fill(body,
        el("div.kpis.analytics-kpis",
          kpi(String(T.conversations), t("会话数", "Conversations"), "kpi-conversations"),
          kpi(pct(T.bot_resolution_rate), t(`机器人解决率（${T.feedback_records} 条反馈）`, `Bot resolution (of ${T.feedback_records} with feedback)`), "kpi-resolution"),
          kpi(pct(T.escalation_rate), t(`转人工率（${T.escalations} 次）`, `Escalation rate (${T.escalations})`), "kpi-escalation"),
          kpi(T.ratings.average === null ? "—" : T.ratings.average.toFixed(2) + " ★", t(`平均评分（${rated} 次评分）`, `Average rating (${rated} ratings)`), "kpi-rating"),
          kpi(secs(A.first_response_secs.average), t(`人工首次响应（平均，P90 ${secs(A.first_response_secs.p90)}）`, `Agents' first response (average; p90 ${secs(A.first_response_secs.p90)})`), "kpi-first-response"),
          kpi(secs(A.handle_secs.average), t(`人工处理时长（平均，P90 ${secs(A.handle_secs.p90)}）`, `Agents' handle time (average; p90 ${secs(A.handle_secs.p90)})`), "kpi-handle")),
        el("div.chart-grid",
          card(t("解决率与转人工率", "Resolution and escalation rates"), "chart-rates",
            chartSlot((w) => lineChart(labels, [
              { name: t("机器人解决率", "Bot resolution rate"), values: B.map((b) => b.bot_resolution_rate), cls: "s0" },
              { name: t("转人工率", "Escalation rate"), values: B.map((b) => b.escalation_rate), cls: "s1" },
            ], t("机器人解决率与转人工率趋势", "Bot resolution and escalation rates over time"), w)),
            legend([{ name: t("机器人解决率", "Bot resolution rate"), cls: "s0" }, { name: t("转人工率", "Escalation rate"), cls: "s1" }]),
            noData(T.conversations)),
          card(t("转人工原因", "Why shoppers were handed to a person"), "chart-escalation-reasons",
            reasons.length ? chartSlot((w) => hbarChart(reasons.map(([r, n], i) => ({ name: tt(ESCALATION_REASONS[r]) || r, value: n, cls: r === "complaint" ? "s1" : "s" + (i % 5) })),
              t("转人工原因", "Escalation reasons"), (r) => (T.escalations ? `${r.value} (${Math.round((r.value / T.escalations) * 100)}%)` : String(r.value)), w)) : null,
            noData(reasons.length)),
          card(t("评分分布", "Rating distribution"), "chart-ratings",
            chartSlot((w) => hbarChart(dist.map((n, i) => ({ name: starNames[i], value: n, cls: "r" + (i + 1) })),
              t(`评分分布：${dist.map((n, i) => `${i + 1}星 ${n}`).join("，")}`, `Ratings: ${dist.map((n, i) => `${i + 1} star ${n}`).join(", ")}`),
              (r) => (rated ? `${r.value} (${Math.round((r.value / rated) * 100)}%)` : "0"), w)),
            T.ratings.low_after_agent ? el("p.muted.small", { id: "low-after-agent" }, t(`其中 ${T.ratings.low_after_agent} 个 1–2 星的会话有人工客服参与（不计入机器人的待处理问题）。`,
              `${T.ratings.low_after_agent} of the 1–2 star conversations had an agent in them (not counted against the bot in the review queue).`)) : null,
            noData(rated)),
          card(t("FAQ 命中", "FAQ hits"), "chart-faq-hits",
            T.faq_hits.length ? chartSlot((w) => hbarChart(T.faq_hits.map((c) => ({ name: c.name, value: c.count, cls: "s2", title: faqTitle(c.name) })),
              t("被用来回答顾客的 FAQ 条目", "FAQ entries the bot answered with"), null, w)) : null,
            noData(T.faq_hits.length)),
          card(t("热门意图趋势", "Top intents over time"), "chart-intents",
            chartSlot((w) => barChart(labels, intentSeries, t("每个时间段里各意图的消息数", "Shopper messages per intent over time"), w)),
            legend(intentSeries), noData(T.top_intents.length)),
          card(t("未解决问题趋势", "Unresolved questions over time"), "chart-unresolved",
            chartSlot((w) => barChart(labels, unresolvedSeries, t("每个时间段里机器人未解决的问题数", "Questions the bot did not resolve, over time"), w)),
            legend(unresolvedSeries), noData(T.unresolved.total)),
          card(t("会话数", "Conversations"), "chart-conversations",
            chartSlot((w) => barChart(labels, [{ name: t("会话", "Conversations"), values: B.map((b) => b.conversations), cls: "s2" }],
              t("每个时间段的会话数", "Conversations over time"), w)), noData(T.conversations)),
          card(t("人工客服响应与处理时长", "Agents' response and handle times"), "agent-times",
            A.handoffs ? el("div.table-wrap", el("table.agent-times",
              el("thead", el("tr", el("th", t("客服", "Agent")), el("th.num", t("接待", "Handoffs")),
                el("th.num", t("首次响应·平均", "First response · avg")), el("th.num", "P90"),
                el("th.num", t("处理时长·平均", "Handle time · avg")), el("th.num", "P90"))),
              el("tbody", T.per_agent.map((r) => agentRow(r.agent, r)), agentRow(t("全部", "All"), A, ".total-row"))))
              : el("p.muted.small", t("这段时间没有人工接待。", "No agent took a conversation in this period."))),
          card(t("问得最多的未解决问题", "Most asked unresolved questions"), "top-unresolved",
            T.top_unresolved.length ? el("table.top-unresolved",
              el("thead", el("tr", el("th", t("问题", "Question")), el("th.num", t("次数", "Times")), el("th", t("处理", "Review")), el("th", t("最近", "Last")))),
              el("tbody", T.top_unresolved.map((g) => el("tr", { "data-review": g.key },
                el("td", el("span", { lang: g.lang === "zh" ? "zh-CN" : "en" }, g.representative)),
                el("td.num", String(g.count)),
                el("td", g.dismissed ? el("span.badge.mark-dismissed", t(`已忽略 ${g.dismissed}`, `dismissed ${g.dismissed}`)) : null,
                  g.resolved ? el("span.badge.mark-resolved", t(`已解决 ${g.resolved}`, `resolved ${g.resolved}`)) : null,
                  g.count - g.dismissed - g.resolved > 0 ? el("span.badge.warn", t(`待处理 ${g.count - g.dismissed - g.resolved}`, `open ${g.count - g.dismissed - g.resolved}`)) : null),
                el("td.muted", Kefu.time(g.last_seen))))))
              : el("p.muted.small", t("这段时间没有未解决的问题。", "No unresolved questions in this period.")),
            T.unresolved.open ? el("button.link", { type: "button", onclick: () => app.show("review") }, t("去处理 →", "Review them →")) : null)));
      drawCharts(body);
    }

    return { panel: el("div", panel), shown: () => load() };
  }

  Kefu.boot({ roles: ["trainer", "admin"], title: { zh: "训练师控制台", en: "Trainer console" }, start });
})();
