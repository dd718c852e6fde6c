/* tinyemo-audit report: draws the charts, builds the embedding map, keeps the reviewer's decisions.
   Offline and from file://: no request is ever made; user text only ever reaches the page as textContent or
   as form values. */
(function () {
  'use strict';

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  // ---- table of contents: a collapsed disclosure on narrow screens; a tap on a link closes it -------------
  function setUpToc() {
    var toc = document.getElementById('toc');
    if (!toc) { return; }
    toc.addEventListener('click', function (event) {
      if (event.target.tagName === 'A' && window.matchMedia('(max-width: 900px)').matches) {
        toc.removeAttribute('open');
      }
    });
  }

  // ---- charts ------------------------------------------------------------------------------------------------
  function buildMapTraces(map, colouringIndex) {
    var colouring = map.colourings[colouringIndex];
    var n = map.x.length;
    var hover = map.hover_text || (map.hover_text = hoverText(map));
    var members = colouring.categories.map(function () { return []; });
    for (var i = 0; i < n; i++) { members[colouring.index[i]].push(i); }
    return colouring.categories.map(function (name, k) {
      var idx = members[k];
      return {
        type: 'scatter', mode: 'markers', name: name,
        x: idx.map(function (i) { return map.x[i]; }), y: idx.map(function (i) { return map.y[i]; }),
        text: idx.map(function (i) { return hover[i]; }), hovertemplate: '%{text}<extra></extra>',
        marker: {size: 5, color: colouring.colours[k], opacity: 0.8, line: {width: 0}}
      };
    }).filter(function (trace) { return trace.x.length > 0; });
  }

  function hoverText(map) {
    var out = [];
    for (var i = 0; i < map.x.length; i++) {
      out.push(map.hover.map(function (field) {
        var value;
        if (field.values) { value = field.values[i]; } else if (field.colouring !== undefined) {
          var c = map.colourings[field.colouring];
          value = c.categories[c.index[i]];
        } else { value = field.categories[field.index[i]]; }
        return field.name + ': ' + value;
      }).join('<br>'));
    }
    return out;
  }

  function drawMap(div, spec, config) {
    var select = document.getElementById(div.id + '-colour');
    var legends = div.parentNode.querySelectorAll('.map-legend');
    var draw = function () {
      var k = select ? Number(select.value) : 0;
      Array.prototype.forEach.call(legends, function (legend) {
        legend.hidden = Number(legend.getAttribute('data-colouring')) !== k;
      });
      window.Plotly.react(div, buildMapTraces(spec.map, k), spec.layout, config);
    };
    if (select) { select.addEventListener('change', draw); }
    draw();
  }

  function drawCharts() {
    if (!window.Plotly) { return; }
    var config = readJson('chart-config') || {responsive: true};
    Array.prototype.forEach.call(document.querySelectorAll('script.chart-spec'), function (node) {
      var div = document.getElementById(node.getAttribute('data-chart'));
      if (!div) { return; }
      var spec = JSON.parse(node.textContent);
      if (spec.map) { drawMap(div, spec, config); } else { window.Plotly.newPlot(div, spec.data, spec.layout, config); }
    });
  }

  // ---- reviewer workflow -------------------------------------------------------------------------------------
  var SCHEMA = 'tinyemo-audit-review/2';
  var STATUSES = ['unreviewed', 'confirmed', 'rejected'];
  var MAX_NOTE = 20000;
  var MAX_FILE = 5 * 1024 * 1024;
  var meta = null;

  function cards() { return Array.prototype.slice.call(document.querySelectorAll('[data-review-id]')); }
  function storageKey() { return 'tinyemo-audit-review:' + (meta && meta.review_key || 'unknown'); }

  function cardState(card) {
    var checked = card.querySelector('input.review-status:checked');
    var note = card.querySelector('textarea.review-note');
    return {id: card.getAttribute('data-review-id'), kind: card.getAttribute('data-review-kind'),
            title: card.getAttribute('data-review-title'), status: checked ? checked.value : 'unreviewed',
            note: note ? note.value : ''};
  }

  function setCard(card, status, note) {
    Array.prototype.forEach.call(card.querySelectorAll('input.review-status'), function (box) {
      box.checked = box.value === status;
    });
    var area = card.querySelector('textarea.review-note');
    if (area) { area.value = note; }
    card.setAttribute('data-review-state', status);
  }

  function exportReview() {
    return {schema: SCHEMA, run: meta, reviewed_at: new Date().toISOString(), items: cards().map(cardState)};
  }

  function save() {
    try {
      window.localStorage.setItem(storageKey(), JSON.stringify({schema: SCHEMA, items: cards().map(cardState)}));
    } catch (err) { /* storage can be disabled for file:// pages; the download still works */ }
  }

  function updateCount() {
    var all = cards().map(cardState);
    var confirmed = all.filter(function (r) { return r.status === 'confirmed'; }).length;
    var rejected = all.filter(function (r) { return r.status === 'rejected'; }).length;
    cards().forEach(function (card) { card.setAttribute('data-review-state', cardState(card).status); });
    var out = document.getElementById('review-count');
    if (out) {
      out.textContent = (confirmed + rejected) + ' of ' + all.length + ' reviewed (' + confirmed + ' confirmed, ' +
        rejected + ' rejected)';
    }
  }

  // A review file is untrusted input: keep only well-formed items, as plain strings, bounded.
  function validReview(obj) {
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) { throw new Error('the file is not a JSON object'); }
    if (obj.schema !== SCHEMA && obj.schema !== 'tinyemo-audit-review/1') {
      throw new Error('the file is not a tinyemo-audit review (no "schema": "' + SCHEMA + '")');
    }
    var list = Array.isArray(obj.items) ? obj.items : obj.findings;
    if (!Array.isArray(list)) { throw new Error('the review has no "items" list'); }
    var items = [];
    list.slice(0, 10000).forEach(function (r) {
      if (!r || typeof r !== 'object' || typeof r.id !== 'string') { return; }
      var status = r.status === 'unconfirmed' ? 'unreviewed' : r.status;
      items.push({id: r.id, title: typeof r.title === 'string' ? r.title : null,
                  status: STATUSES.indexOf(status) >= 0 ? status : 'unreviewed',
                  note: typeof r.note === 'string' ? r.note.slice(0, MAX_NOTE) : ''});
    });
    var run = obj.run && typeof obj.run === 'object' ? obj.run : {};
    return {items: items, sameRun: run.review_key === (meta && meta.review_key)};
  }

  // Same run: match by id. Another run: ids may name other causes, so only an item whose title matches too.
  function apply(review) {
    var byId = {};
    cards().forEach(function (card) { byId[card.getAttribute('data-review-id')] = card; });
    var used = 0;
    review.items.forEach(function (item) {
      var card = Object.prototype.hasOwnProperty.call(byId, item.id) ? byId[item.id] : null;
      if (!card || (!review.sameRun && item.title !== card.getAttribute('data-review-title'))) { return; }
      setCard(card, item.status, item.note);
      used += 1;
    });
    return used;
  }

  function message(text, isError) {
    var out = document.getElementById('review-message');
    if (!out) { return; }
    out.textContent = text;
    out.className = isError ? 'error' : '';
  }

  function loadFile(file) {
    if (!file) { return; }
    message('', false);
    if (file.size > MAX_FILE) { message('Not loaded: the file is larger than 5 MB.', true); return; }
    var reader = new FileReader();
    reader.onload = function () {
      try {
        var review = validReview(JSON.parse(String(reader.result)));
        var used = apply(review);
        save();
        updateCount();
        message('Loaded ' + used + ' of ' + review.items.length + ' review items' +
          (review.sameRun ? '.' : ' (saved for another run: only items whose title matches were loaded).'), false);
      } catch (err) {
        message('Not loaded: ' + (err && err.message ? err.message : 'the file is not valid JSON') + '.', true);
      }
    };
    reader.onerror = function () { message('Not loaded: the file could not be read.', true); };
    reader.readAsText(file);
  }

  function download() {
    var blob = new Blob([JSON.stringify(exportReview(), null, 2)], {type: 'application/json'});
    var a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'review.json';
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }

  function restore() {
    var stored = null;
    try { stored = window.localStorage.getItem(storageKey()); } catch (err) { stored = null; }
    if (!stored) { return; }
    try {
      var parsed = JSON.parse(stored);
      parsed.run = {review_key: meta && meta.review_key};
      apply(validReview(parsed));
    } catch (err) { /* a corrupt entry is ignored: the page's own state stands */ }
  }

  function setUpReview() {
    meta = readJson('run-meta');
    restore();
    document.addEventListener('change', function (event) {
      if (event.target.id === 'review-load') { loadFile(event.target.files[0]); event.target.value = ''; return; }
      if (event.target.closest && event.target.closest('[data-review-id]')) { save(); updateCount(); }
    });
    document.addEventListener('input', function (event) {
      if (event.target.classList && event.target.classList.contains('review-note')) { save(); }
    });
    var btn = document.getElementById('review-export');
    if (btn) { btn.addEventListener('click', download); }
    updateCount();
  }

  window.tinyemoReview = exportReview;
  window.tinyemoLoadReview = function (obj) { var r = validReview(obj); var used = apply(r); save(); updateCount(); return used; };

  function start() {
    setUpToc();
    setUpReview();
    drawCharts();
  }
  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', start); } else { start(); }
})();
