// The phone's copy of the patrol check pages, for basements and car parks without signal.
//
// A check page (/c/<sticker> from a QR code, or /patrols/checkpoints/<id>/check from a list) is fetched
// from the server whenever there is signal, and its latest copy kept here; so is the patrol board
// (/patrols), which lists the checks still waiting on the phone. Without signal the kept copy is shown
// instead, with a note saying so and a new one-time token (so two checks made from the same copy are
// two checks). A sticker scanned without signal whose own page isn't kept opens the kept page of its
// checkpoint as a scan (the board tells which checkpoint a sticker is by a digest of its address).
// The check itself is then kept on the phone by app.js and sent when the signal returns. Static files
// are kept by their fingerprinted URL. Any other page opened without signal shows the app's own
// no-signal page (/offline) instead of the browser's error. Signing in or out forgets the pages (they
// belong to whoever was signed in). Every other request goes to the server as if there were no worker.
var PAGES = "kefu-check-pages-v1";
var STATIC = "kefu-static-v1";
var STICKERS = "kefu-stickers-v1";  // digest of a sticker address → the check page of its checkpoint
var APP = "kefu-app-v1";  // the no-signal page
var MOST = 400;  // pages kept at the most (about 5 MB); the least recently kept go first
var CHECK_PAGE = /^\/(c\/[A-Za-z0-9_-]+|patrols\/checkpoints\/\d+\/check)$/;
var STICKER = /^\/c\/([A-Za-z0-9_-]+)$/;
var BOARD = "/patrols";
var OFFLINE = "/offline";

// The no-signal page, asked for signed out (it names nobody).
function keepOfflinePage() {
  return fetch(OFFLINE, {credentials: "omit"}).then(function (response) {
    if (response.ok) return caches.open(APP).then(function (cache) { return cache.put(OFFLINE, response); });
  });
}

self.addEventListener("install", function (event) {
  self.skipWaiting();
  event.waitUntil(keepOfflinePage().catch(function () {}));
});

self.addEventListener("activate", function (event) {
  var ours = [PAGES, STATIC, STICKERS, APP];
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return ours.indexOf(name) < 0; })
      .map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function isCheckPage(url) { return url.origin === self.location.origin && CHECK_PAGE.test(url.pathname); }

function keepable(response) {
  // The page itself: not a redirect to the sign-in page, not an error page.
  return response.ok && !response.redirected && (response.headers.get("Content-Type") || "").indexOf("text/html") === 0;
}

// Keep a page (a page kept again moves to the end), then let the oldest go beyond MOST.
function keep(cache, key, response) {
  return cache.put(key, response).then(function () { return cache.keys(); }).then(function (keys) {
    return Promise.all(keys.slice(0, Math.max(keys.length - MOST, 0)).map(function (old) { return cache["delete"](old); }));
  });
}

// What is kept: the page with the moment it was kept (shown on the offline copy).
function stamped(response) {
  return response.blob().then(function (body) {
    var headers = new Headers(response.headers);
    headers.set("X-Kept-At", new Date().toISOString());
    return new Response(body, {status: response.status, statusText: response.statusText, headers: headers});
  });
}

// Keep a check page the server sent, with the moment (if it is the page, not a redirect or an error).
function remember(key, response) {
  if (!keepable(response)) return Promise.resolve();
  return stamped(response).then(function (kept) {
    return caches.open(PAGES).then(function (cache) { return keep(cache, key, kept); });
  });
}

function pad(n) { return (n < 10 ? "0" : "") + n; }

// "12月4日 09:30" in the estate's time zone (the page says which), not the phone's.
function estateTime(date, html) {
  var zone = (/\bdata-tz="([^"]+)"/.exec(html) || [])[1];
  try {
    var parts = {};
    new Intl.DateTimeFormat("en-US", {timeZone: zone, month: "numeric", day: "numeric", hour: "2-digit",
                                      minute: "2-digit", hourCycle: "h23"})
      .formatToParts(date).forEach(function (part) { parts[part.type] = part.value; });
    return parts.month + "月" + parts.day + "日 " + parts.hour + ":" + parts.minute;
  } catch (e) {
    return (date.getMonth() + 1) + "月" + date.getDate() + "日 " + pad(date.getHours()) + ":" + pad(date.getMinutes());
  }
}

function sha256(text) {
  return self.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then(function (buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  });
}

// `scan`: the sticker address the page is opened by (its form then sends there, as a scan).
function offlineCopy(response, scan) {
  var saved = new Date(response.headers.get("X-Kept-At") || Date.now());
  return response.text().then(function (html) {
    var token = self.crypto.randomUUID().replace(/-/g, "");
    html = html.replace(/(<input[^>]*\bname="token"[^>]*\bvalue=")[^"]*"/, "$1" + token + '"');
    if (scan) {
      html = html.replace(/(<form[^>]*\baction=")[^"]*("[^>]*\bdata-offline="check")/, "$1" + scan + "$2")
        .replace(/(<span class="check-via">)[\s\S]*?(<\/span>)/, "$1<b>扫码巡查</b>$2");
    }
    var board = html.indexOf('data-offline="check"') < 0;
    var note = '<p class="flash flash-info" role="status" id="offline-copy">没有信号：这是手机上保存的' +
      (board ? "巡视页" : "巡查页") + "（" + estateTime(saved, html) + " 保存）。" +
      (board ? "今日数字是保存时的，手机上待提交的巡查列在下面。" : "照常巡查，保存后留在手机上，信号恢复后自动提交。") + "</p>";
    html = html.replace(/(<main id="main"[^>]*>)/, "$1" + note);
    var headers = new Headers(response.headers);
    headers.delete("Content-Length");
    headers.delete("Content-Encoding");
    return new Response(html, {status: 200, headers: headers});
  });
}

// With signal, the server's page (kept for later); without, the kept copy. A signal too weak to
// bring the page within SLOW milliseconds counts as none when a copy is kept (the page still
// arriving is kept for next time).
var SLOW = 6000;

function keptPage(key) {
  return caches.open(PAGES).then(function (cache) { return cache.match(key, {ignoreVary: true}); });
}

// The kept page of a sticker's checkpoint, when its own address wasn't kept but the board listed it.
function keptForSticker(url) {
  var sticker = STICKER.exec(url.pathname);
  if (!sticker) return Promise.resolve(null);
  return sha256(sticker[1]).then(function (digest) {
    return caches.open(STICKERS).then(function (cache) { return cache.match(url.origin + "/sticker/" + digest); });
  }).then(function (mapped) {
    return mapped ? mapped.text().then(function (page) { return keptPage(url.origin + page); }) : null;
  }).then(function (kept) { return kept ? offlineCopy(kept, url.pathname) : null; });
}

function offlinePage() {
  return caches.open(APP).then(function (cache) { return cache.match(OFFLINE); }).then(function (kept) {
    if (!kept) return null;
    return kept.blob().then(function (body) {
      var headers = new Headers(kept.headers);
      headers.delete("Content-Length");
      headers.delete("Content-Encoding");
      return new Response(body, {status: 503, headers: headers});
    });
  });
}

// The kept copy of a page (or for a sticker, its checkpoint's page); for a navigation with nothing
// kept, the no-signal page.
function checkPage(request) {
  var url = new URL(request.url);
  var key = url.origin + url.pathname;
  function copy() {
    return keptPage(key).then(function (kept) { return kept ? offlineCopy(kept) : keptForSticker(url); })
      .then(function (kept) { return kept || (request.mode === "navigate" ? offlinePage() : null); });
  }
  var network = fetch(request).then(function (response) {
    remember(key, response.clone()).catch(function () {});
    return response;
  });
  return new Promise(function (resolve, reject) {
    var answered = false;
    function answer(response) { if (!answered) { answered = true; resolve(response); } }
    var timer = setTimeout(function () {
      copy().then(function (kept) { if (kept) answer(kept); }, function () {});
    }, SLOW);
    network.then(function (response) { clearTimeout(timer); answer(response); }, function (error) {
      clearTimeout(timer);
      copy().then(function (kept) {
        if (kept) answer(kept);
        else if (!answered) { answered = true; reject(error); }
      }, function () { if (!answered) { answered = true; reject(error); } });
    });
  });
}

function staticFile(request) {
  return caches.open(STATIC).then(function (cache) {
    return cache.match(request).then(function (kept) {
      return kept || fetch(request).then(function (response) {
        if (response.ok) {
          // A new version of a file: the old ones (same path, another ?v=) go.
          var path = new URL(request.url).pathname;
          cache.put(request, response.clone()).then(function () { return cache.keys(); }).then(function (keys) {
            keys.forEach(function (old) {
              var url = new URL(old.url);
              if (url.pathname === path && old.url !== request.url) cache["delete"](old);
            });
          }).catch(function () {});
        }
        return response;
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && (url.pathname === "/login" || url.pathname === "/logout")) {
    event.respondWith(Promise.all([caches.delete(PAGES), caches.delete(STICKERS)]).then(function () { return fetch(request); }));
    return;
  }
  if (request.method !== "GET") return;
  if (isCheckPage(url) || (url.pathname === BOARD && !url.search)) {
    event.respondWith(checkPage(request));
  } else if (url.pathname.indexOf("/static/") === 0 && url.searchParams.get("v")) {
    event.respondWith(staticFile(request));
  } else if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(function (error) {
      return offlinePage().then(function (page) { if (page) return page; throw error; });
    }));
  }
});

// The patrol board asks for the check pages it lists to be kept ahead of a walk into the basement;
// those already kept are left (a page is refreshed each time it is opened with signal). The page
// is told how many are kept in all.
// With each page, which sticker is its checkpoint's ({url, sticker: digest}).
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "keep-check-pages" || !Array.isArray(data.urls)) return;
  var urls = data.urls.slice(0, 200).map(function (href) { return new URL(href, self.location.origin); })
    .filter(isCheckPage);
  var stickers = (Array.isArray(data.stickers) ? data.stickers : []).slice(0, 200).filter(function (pair) {
    return pair && /^[0-9a-f]{64}$/.test(pair.sticker) && isCheckPage(new URL(pair.url, self.location.origin));
  });
  var source = event.source;
  var mapped = caches.open(STICKERS).then(function (cache) {
    return Promise.all(stickers.map(function (pair) {
      return cache.put(self.location.origin + "/sticker/" + pair.sticker,
                       new Response(new URL(pair.url, self.location.origin).pathname));
    }));
  }).then(function () {
    return caches.open(APP).then(function (cache) { return cache.match(OFFLINE); });
  }).then(function (kept) { return kept || keepOfflinePage(); }).then(function () {
    // The page's icons too: a browser asks for them again on a page opened without signal.
    return Promise.all((Array.isArray(data.icons) ? data.icons : []).slice(0, 4).map(function (href) {
      var url = new URL(href, self.location.origin);
      if (url.origin === self.location.origin && url.pathname.indexOf("/static/") === 0 && url.searchParams.get("v")) {
        return staticFile(new Request(url.href)).catch(function () {});
      }
    }));
  }).catch(function () {});
  event.waitUntil(mapped.then(function () { return caches.open(PAGES); }).then(function (cache) {
    return urls.reduce(function (chain, url) {
      var key = url.origin + url.pathname;
      return chain.then(function () {
        return cache.match(key, {ignoreVary: true}).then(function (kept) {
          if (kept) return;
          return fetch(key, {credentials: "same-origin"}).then(function (response) {
            return remember(key, response);
          }, function () {});
        });
      });
    }, Promise.resolve()).then(function () { return cache.keys(); });
  }).then(function (keys) {
    var pages = keys.filter(function (request) { return isCheckPage(new URL(request.url)); });
    if (source) source.postMessage({type: "check-pages-kept", count: pages.length});
  }));
});

// Web Push (kefu/outbox.py): one notification per message key (a message delivered twice shows once),
// opening the record's page when tapped. 紧急 stays on screen and vibrates.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {body: event.data ? event.data.text() : ""}; }
  event.waitUntil(self.registration.showNotification(data.title || "客服提醒", {
    body: data.body || "", tag: data.key || "kefu", renotify: !!data.urgent, requireInteraction: !!data.urgent,
    vibrate: data.urgent ? [200, 100, 200] : undefined, icon: "/static/icons/icon-192.png",
    data: {url: data.url || "/"}
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  // Only this app's own pages open from a notification.
  var target = self.location.origin + url.pathname + url.search;
  event.waitUntil(self.clients.matchAll({type: "window", includeUncontrolled: true}).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      if (windows[i].url === target && "focus" in windows[i]) return windows[i].focus();
    }
    for (var j = 0; j < windows.length; j++) {
      if ("navigate" in windows[j] && new URL(windows[j].url).origin === self.location.origin) {
        return windows[j].navigate(target).then(function (client) { return client && client.focus(); });
      }
    }
    return self.clients.openWindow(target);
  }));
});
