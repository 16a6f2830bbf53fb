// Small behaviours htmx doesn't cover. No inline scripts anywhere (the CSP forbids them).

// Weak signal. A form sent while the connection drops stays on the page as typed, with a note
// above it; sending it again can't make a second record (each form carries a one-time token).
// A patrol check (form[data-offline="check"]) is kept on the phone instead (IndexedDB), photos
// included, with the time it was made and who made it, and sent by itself when the signal comes
// back; the server counts it for that time. The service worker (sw.js) keeps the check pages, so
// one can be opened without signal too.
//
// The page's own session (<template id="session">, inside what htmx swaps) says who is signed in and
// the estate's time zone: <body>'s attributes stay as the first page load left them.
(function () {
  var LEGACY = "kefu-offline-checks";  // where checks were kept before photos could be (localStorage)
  var STORE = "checks";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function session() { return document.getElementById("session") || document.createElement("template"); }
  // A time as the estate's clock shows it (the phone's may be set to another zone).
  function clock(iso) {
    try {
      return new Intl.DateTimeFormat("en-GB", {timeZone: session().dataset.tz || undefined, hour: "2-digit",
                                               minute: "2-digit", hourCycle: "h23"}).format(new Date(iso));
    } catch (e) {
      var d = new Date(iso);
      return pad(d.getHours()) + ":" + pad(d.getMinutes());
    }
  }
  function note(place, text, kind, id) {
    var el = document.getElementById(id);
    if (!el) {
      el = document.createElement("p");
      el.id = id;
      place.insertBefore(el, place.firstChild);
    }
    el.className = "flash " + kind;
    el.setAttribute("role", kind === "flash-error" ? "alert" : "status");
    el.textContent = text;
    return el;
  }
  function main() { return document.getElementById("main") || document.body; }
  function me() { return session().dataset.user || ""; }
  // After an in-app sign-in or sign-out, htmx's own requests carry the new session's form token too.
  function syncSession() {
    var now = session();
    if (now.dataset.csrf) document.body.setAttribute("hx-headers", JSON.stringify({"X-CSRFToken": now.dataset.csrf}));
    if (now.dataset.user) document.body.dataset.user = now.dataset.user; else delete document.body.dataset.user;
  }

  // The kept checks: [{key, action, fields: [[name, value]], files: [[name, blob, filename]], name, made, user}]
  function database() {
    return new Promise(function (resolve, reject) {
      var opening = indexedDB.open("kefu-offline", 1);
      opening.onupgradeneeded = function () { opening.result.createObjectStore(STORE, {keyPath: "key"}); };
      opening.onsuccess = function () { resolve(opening.result); };
      opening.onerror = function () { reject(opening.error); };
    });
  }
  function stored(mode, work) {
    return database().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode), request = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(request ? request.result : undefined); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }
  function all() {
    return stored("readonly", function (store) { return store.getAll(); }).then(function (items) {
      var legacy = [];
      try { legacy = JSON.parse(localStorage.getItem(LEGACY) || "[]"); } catch (e) { legacy = []; }
      if (!legacy.length) return items.sort(function (a, b) { return a.made < b.made ? -1 : 1; });
      // Checks kept by the earlier version of this script move into the database (photos they never had).
      return Promise.all(legacy.map(function (item) {
        item.key = item.made + "-legacy"; item.files = []; item.user = "";
        return stored("readwrite", function (store) { return store.put(item); });
      })).then(function () { localStorage.removeItem(LEGACY); return all(); });
    });
  }
  function mineOf(user) {
    return function (items) { return items.filter(function (item) { return !item.user || item.user === user; }); };
  }
  // Signed out (the no-signal page names nobody), every check kept on the phone is listed.
  function mine(items) { return me() ? mineOf(me())(items) : items; }

  // Kept once per form: the key is the form's one-time token, so a second tap can't keep it twice.
  function keep(form) {
    if (form.dataset.keeping) return;
    form.dataset.keeping = "1";
    var fields = [], files = [], made = new Date().toISOString(), token = "";
    new FormData(form).forEach(function (value, name) {
      if (name === "token") token = value;
      if (typeof value === "string") fields.push([name, value]);
      else if (value && value.size) files.push([name, value, value.name || "photo.jpg"]);
    });
    fields.push(["made_at", made]);
    var action = form.getAttribute("action");
    var item = {key: action + "#" + (token || made + "-" + Math.random().toString(36).slice(2)), action: action,
                fields: fields, files: files, name: form.dataset.name || "", made: made,
                user: form.dataset.user || me(), checkpoint: form.dataset.checkpoint || ""};
    stored("readwrite", function (store) { return store.put(item); }).then(function () {
      var text = "没有信号：这次巡查（" + item.name + "，" + clock(made) + "）已保存在手机上";
      if (files.length) text += "，连同 " + files.length + " 张照片";
      note(main(), text + "，信号恢复后自动提交，按记录时间计入。", "flash-info", "offline-note");
      done(form);
      window.scrollTo(0, 0);
      showPending();
    }, function () {
      delete form.dataset.keeping;
      note(main(), "没有信号，手机也没能保存这次巡查（存储空间不足或浏览器禁止）：请在有信号处再点一次保存。",
           "flash-error", "offline-note");
      window.scrollTo(0, 0);
    });
  }
  // The form is done with once kept: it gives way to the way back to the board.
  function done(form) {
    var panel = document.createElement("section");
    panel.className = "panel";
    panel.id = "kept-check";
    var title = document.createElement("p");
    title.className = "card-title";
    title.textContent = "已保存在手机上（待提交）";
    var back = document.createElement("a");
    back.className = "button primary block";
    back.href = "/patrols";
    back.textContent = "返回巡视";
    panel.appendChild(title);
    panel.appendChild(back);
    form.parentNode.replaceChild(panel, form);
    if (window.htmx) window.htmx.process(panel);
  }
  function forget(item) { return stored("readwrite", function (store) { return store["delete"](item.key); }); }

  var sending = false;
  function waiting(count) {
    note(main(), "手机上有 " + count + " 条离线巡查，信号恢复后自动提交。", "flash-info", "offline-note");
  }
  function signInFirst() {
    sending = false;
    note(main(), "离线巡查还没提交：请先登录，登录后自动提交。", "flash-error", "offline-note");
  }
  // Sent as whoever the server says is signed in now, with this session's form token (the page and
  // the kept form may be older than the sign-in).
  function flush() {
    if (sending || !window.indexedDB) return;
    sending = true;
    all().then(function (list) {
      if (!list.length) { sending = false; return; }
      if (!navigator.onLine) { sending = false; waiting(mine(list).length || list.length); return; }
      return fetch("/patrols/offline/session", {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) {
          var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
          if (!response.ok || !json) {
            if (response.redirected || response.status === 401) signInFirst(); else sending = false;
            return;
          }
          return response.json().then(function (now) { return send(mineOf(String(now.user))(list), now.csrf); });
        });
    }).catch(function () {
      sending = false;
      all().then(mine).then(function (list) { if (list.length) waiting(list.length); }, function () {});
    });
  }
  function send(list, token) {
    if (!list.length) { sending = false; return; }
    var item = list[0], body = new FormData();
    item.fields.forEach(function (pair) { if (pair[0] !== "csrf_token") body.append(pair[0], pair[1]); });
    body.append("csrf_token", token);
    (item.files || []).forEach(function (file) { body.append(file[0], file[1], file[2]); });
    return fetch(item.action, {method: "POST", body: body, credentials: "same-origin", headers: {"X-CSRFToken": token}})
      .then(function (response) {
        var signedOut = response.redirected && new URL(response.url).pathname === "/login";
        if (signedOut || response.status === 400 || response.status === 401 || response.status === 403) {
          sending = false;
          note(main(), "离线巡查还没提交：请先登录，登录后自动提交。", "flash-error", "offline-note");
          return;
        }
        if (response.status >= 500) throw new Error(String(response.status));
        return forget(item).then(function () {
          sending = false;
          if (response.ok) {
            note(main(), "已提交离线巡查：" + item.name + "（记录于 " + clock(item.made) + "）。", "flash-success", "offline-note");
          } else {
            note(main(), "离线巡查 " + item.name + "（" + clock(item.made) + "）没能提交：已超过 24 小时或内容不完整，请重新巡查。", "flash-error", "offline-note");
          }
          window.scrollTo(0, 0);
          showPending();
          flush();
        });
      });
  }

  // What is waiting on the phone, on the board (and the no-signal page): place, time, photos; the
  // board's cards of those places say 已巡查（待提交）.
  function showPending() {
    var box = document.getElementById("pending-checks");
    if (!box || !window.indexedDB) return;
    all().then(mine).then(function (list) {
      var ul = box.querySelector("ul");
      ul.textContent = "";
      list.forEach(function (item) {
        var li = document.createElement("li");
        var photos = (item.files || []).length;
        li.textContent = item.name + " · " + clock(item.made) + (photos ? " · " + photos + " 张照片" : "");
        ul.appendChild(li);
        if (!item.checkpoint) return;
        document.querySelectorAll('a.checkpoint-card[data-checkpoint="' + item.checkpoint + '"] .badge')
          .forEach(function (badge) { badge.className = "badge badge-pending"; badge.textContent = "已巡查（待提交）"; });
      });
      box.hidden = !list.length;
    }, function () {});
  }

  // Signing out with checks still on the phone: say how many, and ask once.
  function pendingWarning(form) {
    all().then(mine).then(function (list) {
      if (!list.length) return;
      var text = "手机上还有 " + list.length + " 条离线巡查没有提交。退出后它们留在手机上，用本账号再登录后自动提交。";
      note(form.parentNode, text, "flash-error", "pending-at-logout");
    }, function () {});
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches('form[action$="/logout"]') || form.dataset.confirmed || !window.indexedDB) return;
    event.preventDefault();
    event.stopPropagation();
    all().then(mine).then(function (list) {
      if (list.length && !window.confirm("手机上还有 " + list.length + " 条离线巡查没有提交（信号恢复后才能提交）。" +
                                         "退出后它们留在手机上，用本账号再登录后自动提交。确定退出登录？")) return;
      form.dataset.confirmed = "1";
      form.requestSubmit();
    }, function () { form.dataset.confirmed = "1"; form.requestSubmit(); });
  }, true);
  function onPage() {
    syncSession();
    showPending();
    var logout = document.querySelector('form[action$="/logout"]');
    if (logout) pendingWarning(logout);
    flush();
  }

  document.addEventListener("htmx:sendError", function (event) {
    var elt = event.detail.elt, form = elt && elt.closest ? elt.closest("form") : null;
    if (elt && elt.type === "file") {
      // A photo picked without signal stays in its field, shown small, and goes with the form.
      var field = elt.closest(".photo-field") || form || main();
      var count = elt.files ? elt.files.length : 0;
      note(field, "没有信号：" + (count > 1 ? count + " 张照片" : "照片") + "还在手机上，保存时一起提交。", "flash-info",
           "photo-offline-" + (elt.name || ""));
      var shown = field.querySelector(".offline-photos");
      if (shown) shown.remove();
      shown = document.createElement("div");
      shown.className = "photos offline-photos";
      Array.prototype.forEach.call(elt.files || [], function (file, n) {
        var img = document.createElement("img");
        img.src = URL.createObjectURL(file);
        img.alt = "离线选的照片 " + (n + 1);
        var figure = document.createElement("figure");
        figure.className = "photo";
        figure.appendChild(img);
        shown.appendChild(figure);
      });
      var picker = field.querySelector(".photo-input");
      field.insertBefore(shown, picker || null);
      return;
    }
    if (form && form.dataset.offline === "check" && window.indexedDB) { keep(form); return; }
    if (!form) {
      note(main(), "没有信号，页面没能打开。有信号后请再点一次。", "flash-error", "send-error").scrollIntoView({block: "nearest"});
      return;
    }
    note(form, "网络连接中断，内容没有提交。已填写的内容仍在页面上，信号恢复后请再点一次提交（不会重复记录）。",
         "flash-error", "send-error").scrollIntoView({block: "nearest"});
  });
  document.addEventListener("htmx:beforeRequest", function () {
    var old = document.getElementById("send-error");
    if (old) old.remove();
  });
  // Sent on every page change, whenever the screen comes back, and when the signal does.
  window.addEventListener("online", flush);
  document.addEventListener("DOMContentLoaded", onPage);
  document.addEventListener("htmx:afterSettle", function (event) { if (event.target === document.body) onPage(); });
  document.addEventListener("htmx:historyRestore", onPage);
  window.addEventListener("pageshow", function (event) { if (event.persisted) onPage(); });
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "visible") flush(); });
  setInterval(flush, 60000);

  // The service worker, and the check pages the patrol board lists kept ahead of the walk.
  function keepBoardPages() {
    var status = document.getElementById("offline-pages");
    var worker = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (!status || !worker || !navigator.onLine) return;
    var cards = document.querySelectorAll("a.checkpoint-card[href]");
    var urls = Array.prototype.map.call(cards, function (a) { return a.getAttribute("href"); });
    var stickers = Array.prototype.filter.call(cards, function (a) { return a.dataset.sticker; })
      .map(function (a) { return {url: a.getAttribute("href"), sticker: a.dataset.sticker}; });
    var icons = Array.prototype.map.call(document.querySelectorAll('link[rel~="icon"], link[rel="apple-touch-icon"]'),
                                         function (link) { return link.getAttribute("href"); });
    worker.postMessage({type: "keep-check-pages", urls: urls, stickers: stickers, icons: icons});
  }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").then(function () {
      return navigator.serviceWorker.ready;
    }).then(keepBoardPages).catch(function () {});
    navigator.serviceWorker.addEventListener("message", function (event) {
      var status = document.getElementById("offline-pages");
      if (status && event.data && event.data.type === "check-pages-kept") {
        status.textContent = "没有信号时也能打开：手机上已保存 " + event.data.count + " 个巡查页。";
        status.hidden = false;
      }
    });
    navigator.serviceWorker.addEventListener("controllerchange", keepBoardPages);
    document.addEventListener("htmx:afterSettle", keepBoardPages);
  }
})();

// Live countdowns: <span class="countdown" data-due="ISO"> shows 正常 / 即将超时 / 已超时.
(function () {
  function text(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    if (minutes < 60) return minutes + " 分钟";
    var hours = Math.floor(minutes / 60), rest = minutes % 60;
    if (hours < 48) return rest ? hours + " 小时 " + rest + " 分" : hours + " 小时";
    return Math.floor(hours / 24) + " 天 " + (hours % 24) + " 小时";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var left = Date.parse(el.dataset.due) - now;
      var state = left < 0 ? ["badge-late", "已超时", "超时 "] : left <= 15 * 60000 ? ["badge-warn", "即将超时", "剩 "] : ["badge-ok", "正常", "剩 "];
      el.classList.remove("badge-late", "badge-warn", "badge-ok");
      el.classList.add(state[0]);
      var word = el.querySelector("b"), rest = el.querySelector(".left");
      if (word) word.textContent = state[1];
      if (rest) rest.textContent = state[2] + text(left);
    });
  }
  setInterval(tick, 30000);
  document.addEventListener("htmx:afterSettle", tick);
})();

// Picking a resident fills the customer's name and phone (the server does the same without JS).
document.addEventListener("change", function (event) {
  var select = event.target;
  if (!select.matches || !select.matches("select[data-fills]")) return;
  var option = select.options[select.selectedIndex];
  var prefix = select.dataset.fills;
  var name = document.getElementById(prefix + "_name"), phone = document.getElementById(prefix + "_phone");
  if (option && option.dataset.name !== undefined) {
    if (name) name.value = option.dataset.name;
    if (phone) phone.value = option.dataset.phone || "";
  }
});

// Live 今日: an open agenda asks /today/live every 10 seconds (not while the screen is off) with the
// stamp it was drawn at. Unchanged: 204, nothing to do. Changed: the agenda is redrawn in place, the
// count goes on the tab title, the 今日 tab and the app icon, and — if this phone allows it — a
// 紧急 item or a response due within 15 minutes sounds and vibrates once.
(function () {
  var INTERVAL = 10000, timer = null, baseTitle = null;
  function agenda() { return document.getElementById("agenda"); }
  function alertsOn() { try { return localStorage.getItem("kefu.alert") === "1"; } catch (e) { return false; } }
  function beep() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext, ctx = new Ctx(), osc = ctx.createOscillator();
      osc.frequency.value = 880; osc.connect(ctx.destination); osc.start(); osc.stop(ctx.currentTime + 0.3);
    } catch (e) { /* no sound on this phone */ }
    if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
  }
  function show(count) {
    if (baseTitle === null) baseTitle = document.title.replace(/^\(\d+\) /, "");
    document.title = count ? "(" + count + ") " + baseTitle : baseTitle;
    document.querySelectorAll(".tab-count").forEach(function (el) { el.textContent = count; el.hidden = !count; });
    if (navigator.setAppBadge) { (count ? navigator.setAppBadge(count) : navigator.clearAppBadge()).catch(function () {}); }
  }
  function poll() {
    var el = agenda();
    if (!el || document.hidden) return;
    fetch(el.dataset.live + "?stamp=" + encodeURIComponent(el.dataset.stamp), {credentials: "same-origin"})
      .then(function (response) {
        if (response.status !== 200) return;
        var before = parseInt(el.dataset.count || "0", 10);
        var count = parseInt(response.headers.get("X-Agenda-Count") || "0", 10);
        var alert = response.headers.get("X-Agenda-Alert") === "1";
        return response.text().then(function (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.querySelector("#agenda");
          if (!fresh || !agenda()) return;
          // A folded group the person opened stays open.
          agenda().querySelectorAll("details.agenda-more[open]").forEach(function (opened) {
            fresh.querySelectorAll("details.agenda-more").forEach(function (d) {
              if (d.dataset.group === opened.dataset.group) d.open = true;
            });
          });
          agenda().replaceWith(fresh);
          document.dispatchEvent(new Event("htmx:afterSettle"));
          show(count);
          if (alert && count > before && alertsOn()) beep();
        });
      }).catch(function () { /* no signal: try again next time */ });
  }
  function start() {
    var el = agenda();
    if (timer) { clearInterval(timer); timer = null; }
    if (!el) return;
    baseTitle = null;
    show(parseInt(el.dataset.count || "0", 10));
    timer = setInterval(poll, INTERVAL);
    var toggle = document.getElementById("alert-toggle");
    if (toggle) {
      toggle.hidden = false;
      var label = function () { toggle.textContent = alertsOn() ? "紧急提醒：声音和振动已开" : "紧急提醒：开启声音和振动"; };
      label();
      toggle.onclick = function () {
        try { localStorage.setItem("kefu.alert", alertsOn() ? "0" : "1"); } catch (e) { /* private mode */ }
        label();
        if (alertsOn()) beep();
      };
    }
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
  document.addEventListener("DOMContentLoaded", start);
  // Pages open in place (hx-boost): start again on each new page, as the offline sender does.
  document.addEventListener("htmx:afterSettle", function (event) { if (event.target === document.body) start(); });
  document.addEventListener("htmx:historyRestore", start);
})();

// A suggested 房号 (the nearest to one that doesn't exist) fills the field when tapped. The field
// keeps the focus meanwhile: leaving it would send the old number first, and the residents' list
// drops a request made while one is on its way.
document.addEventListener("mousedown", function (event) {
  if (event.target.closest && event.target.closest("[data-set-room]")) event.preventDefault();
});
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-set-room]") : null;
  if (!button) return;
  var input = document.getElementById("household");
  if (!input) return;
  input.value = button.dataset.setRoom;
  input.dispatchEvent(new Event("change", {bubbles: true}));
});

// The intake page's category, while still unchosen, takes the one the description's words suggest.
document.addEventListener("htmx:afterSettle", function () {
  var hint = document.querySelector("[data-suggest]"), select = document.getElementById("category");
  if (!hint || !select || select.value) return;
  select.value = hint.dataset.suggest;
});

// 全部合格: every item of the checklist answered 合格 in one tap; the exceptions are changed after.
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-all-ok]") : null;
  if (!button) return;
  button.form.querySelectorAll('input[type="radio"][value="ok"]').forEach(function (radio) {
    if (!radio.checked) {
      radio.checked = true;
      radio.dispatchEvent(new Event("change", {bubbles: true}));
    }
  });
});

// A photo picked before htmx listened for the pick was never sent: while the page's scripts still
// loaded (a slow signal: they come last), or in the moment between a form's swap and htmx taking
// over its new fields (a 422 answer re-shows the form). Once htmx listens, such a photo goes up as
// if picked now; one already on its way is not sent twice.
var photosSent = new WeakMap();

function pickedFiles(input) {
  return Array.prototype.map.call(input.files || [], function (file) {
    return file.name + "/" + file.size + "/" + file.lastModified;
  }).join("|");
}

document.addEventListener("htmx:beforeRequest", function (event) {
  var input = event.detail.elt;
  if (input && input.matches && input.matches(".photo-input input[type=file]")) {
    photosSent.set(input, pickedFiles(input));
  }
});

function sendPickedPhotos(root) {
  if (!window.htmx || !root || !root.querySelectorAll) return;
  root.querySelectorAll(".photo-input input[type=file][hx-post]").forEach(function (input) {
    var files = pickedFiles(input);
    if (files && photosSent.get(input) !== files) htmx.trigger(input, "change");
  });
}

document.addEventListener("htmx:load", function (event) {
  sendPickedPhotos(event.detail && event.detail.elt ? event.detail.elt : event.target);
});
document.addEventListener("DOMContentLoaded", function () {
  setTimeout(function () { sendPickedPhotos(document); }, 0);
});

// A print button (初始密码单): the browser's own print, set up for A4 by app.css's print rules.
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-print]") : null;
  if (button) window.print();
});
