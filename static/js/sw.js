// The phone's copy of the patrol check pages, for basements and car parks without signal.
//
// A check page (/c/<sticker> from a QR code, or /patrols/checkpoints/<id>/check from a list) is fetched
// from the server whenever there is signal, and its latest copy kept here. Without signal the kept
// copy is shown instead, with a note saying so and a new one-time token (so two checks made from the
// same copy are two checks). The check itself is then kept on the phone by app.js and sent when the
// signal returns. Static files are kept by their fingerprinted URL. Signing in or out forgets the
// pages (they belong to whoever was signed in). Nothing else is touched: every other request goes to
// the server as if there were no worker.
var PAGES = "kefu-check-pages-v1";
var STATIC = "kefu-static-v1";
var MOST = 400;  // pages kept at the most (about 5 MB); the least recently kept go first
var CHECK_PAGE = /^\/(c\/[A-Za-z0-9_-]+|patrols\/checkpoints\/\d+\/check)$/;

self.addEventListener("install", function () { self.skipWaiting(); });

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name !== PAGES && name !== STATIC; })
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

function offlineCopy(response) {
  var saved = new Date(response.headers.get("X-Kept-At") || Date.now());
  return response.text().then(function (html) {
    var token = self.crypto.randomUUID().replace(/-/g, "");
    html = html.replace(/(<input[^>]*\bname="token"[^>]*\bvalue=")[^"]*"/, "$1" + token + '"');
    var note = '<p class="flash flash-info" role="status" id="offline-copy">没有信号：这是手机上保存的巡查页（' +
      (saved.getMonth() + 1) + "月" + saved.getDate() + "日 " + pad(saved.getHours()) + ":" + pad(saved.getMinutes()) +
      " 保存）。照常巡查，保存后留在手机上，信号恢复后自动提交。</p>";
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

function checkPage(request) {
  var url = new URL(request.url);
  var key = url.origin + url.pathname;
  function copy() {
    return caches.open(PAGES).then(function (cache) { return cache.match(key, {ignoreVary: true}); })
      .then(function (kept) { return kept ? offlineCopy(kept) : null; });
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
    event.respondWith(caches.delete(PAGES).then(function () { return fetch(request); }));
    return;
  }
  if (request.method !== "GET") return;
  if (isCheckPage(url)) {
    event.respondWith(checkPage(request));
  } else if (url.pathname.indexOf("/static/") === 0 && url.searchParams.get("v")) {
    event.respondWith(staticFile(request));
  }
});

// The patrol board asks for the check pages it lists to be kept ahead of a walk into the basement;
// those already kept are left (a page is refreshed each time it is opened with signal). The page
// is told how many are kept in all.
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "keep-check-pages" || !Array.isArray(data.urls)) return;
  var urls = data.urls.slice(0, 200).map(function (href) { return new URL(href, self.location.origin); })
    .filter(isCheckPage);
  var source = event.source;
  event.waitUntil(caches.open(PAGES).then(function (cache) {
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
    if (source) source.postMessage({type: "check-pages-kept", count: keys.length});
  }));
});
