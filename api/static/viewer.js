// The yizhi map viewer: our own vector tiles as the base map, a layer switcher, building and
// grid cards, address search, grids coloured by a metric and an incident heatmap.
// Plain ES module; MapLibre GL JS is the global `maplibregl` (served from /static/vendor).

import {
  apiKey,
  breaks,
  drawStepLegend,
  fieldLabel,
  fmt,
  getJSON,
  layerLabel,
  loadedValues,
  metricColour,
  propertyList,
  setApiKey,
  stepClasses,
  transformRequest,
  url,
} from "./common.js";

const maplibregl = window.maplibregl;
const $ = (id) => document.getElementById(id);

/** Layers switched off until the user asks for them (dense or detailed). */
const HIDDEN_AT_START = new Set([
  "districts",
  "micro_grids",
  "unit_grids",
  "doorplates",
  "events",
  "sensors",
  "event_density",
  "camera_coverage",
]);
/** Style layers whose features open a card on click, in order of preference. */
const CLICKABLE = ["buildings-fill", "micro_grids-fill", "grids-fill"];
const HEAT = "events-heat";
const SELECTED = ["boolean", ["feature-state", "selected"], false];

const params = new URLSearchParams(location.search);
const state = { metric: params.get("metric") || "", selected: null, marker: null };
/** Extra layers to show at start: ?show=camera_coverage,events */
const SHOWN = new Set((params.get("show") || "").split(",").filter(Boolean));

function notice(message) {
  const el = $("notice") || document.createElement("div");
  el.id = "notice";
  el.className = "notice";
  el.setAttribute("role", "alert");
  el.textContent = message;
  document.body.append(el);
}

// -- style ------------------------------------------------------------------------------------

/** Add what the viewer needs to the default style: highlight on selection, the heatmap. */
function prepareStyle(style) {
  // outlines of the selected feature, drawn over everything (opacity 0 unless selected)
  for (const [source, colour, width] of [
    ["micro_grids", "#e76f51", 3],
    ["grids", "#e76f51", 3.5],
    ["buildings", "#c2410c", 2],
  ]) {
    if (!style.sources[source]) continue;
    const base = style.layers.find((l) => l.source === source);
    style.layers.push({
      id: `${source}-selected`,
      type: "line",
      source,
      "source-layer": source,
      ...(base && base.minzoom !== undefined ? { minzoom: base.minzoom } : {}),
      paint: {
        "line-color": colour,
        "line-width": width,
        "line-opacity": ["case", SELECTED, 1, 0],
      },
    });
  }
  for (const layer of style.layers) {
    if (layer.source && HIDDEN_AT_START.has(layer.source) && !SHOWN.has(layer.source)) {
      // hidden in the style itself, so that their tiles are not even requested
      layer.layout = { ...(layer.layout || {}), visibility: "none" };
    }
    const paint = (layer.paint = layer.paint || {});
    if (layer.id === "buildings-fill") {
      paint["fill-color"] = ["case", SELECTED, "#f4a261", paint["fill-color"] || "#d9d0c7"];
    }
    if (layer.id === "roads-line") {
      // roads are the base map here, not the subject: lighter than the grids drawn over them
      paint["line-color"] = "#c3cad4";
    }
  }
  if (style.sources.events) {
    const firstPoint = style.layers.findIndex((l) => l.type === "circle");
    const heat = {
      id: HEAT,
      type: "heatmap",
      source: "events",
      "source-layer": "events",
      layout: { visibility: params.get("heat") === "1" ? "visible" : "none" },
      paint: {
        "heatmap-weight": 1,
        "heatmap-intensity": ["interpolate", ["linear"], ["zoom"], 14, 0.25, 16, 0.35, 18, 0.6],
        "heatmap-radius": ["interpolate", ["linear"], ["zoom"], 14, 8, 16, 16, 18, 30],
        "heatmap-opacity": 0.75,
        "heatmap-color": [
          "interpolate",
          ["linear"],
          ["heatmap-density"],
          0,
          "rgba(255,255,178,0)",
          0.15,
          "rgba(254,204,92,0.55)",
          0.4,
          "rgba(253,141,60,0.8)",
          0.7,
          "#f03b20",
          1,
          "#bd0026",
        ],
      },
    };
    style.layers.splice(firstPoint < 0 ? style.layers.length : firstPoint, 0, heat);
  }
  return style;
}

/** Style layers grouped by source, top-most group first. */
function groups(style) {
  const out = new Map();
  for (const layer of style.layers) {
    if (!layer.source || layer.id === HEAT) continue;
    if (!out.has(layer.source)) out.set(layer.source, []);
    out.get(layer.source).push(layer);
  }
  return [...out.entries()].reverse();
}

// -- layer switcher ---------------------------------------------------------------------------

function buildLayerList(map, style) {
  const list = $("layer-list");
  list.replaceChildren();
  for (const [source, layers] of groups(style)) {
    const visible = layers.some((l) => !l.layout || l.layout.visibility !== "none");
    const minzoom = Math.min(...layers.map((l) => l.minzoom ?? 0));
    const [zh, en] = layerLabel(source);
    const li = document.createElement("li");
    const label = document.createElement("label");
    label.className = "check";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = visible;
    box.dataset.source = source;
    box.addEventListener("change", () => {
      for (const l of layers) {
        map.setLayoutProperty(l.id, "visibility", box.checked ? "visible" : "none");
      }
    });
    const name = document.createElement("span");
    name.textContent = zh + " ";
    const enSpan = document.createElement("span");
    enSpan.className = "en";
    enSpan.textContent = en;
    const zoom = document.createElement("span");
    zoom.className = "zoom-hint";
    zoom.dataset.minzoom = String(minzoom);
    zoom.textContent = `z${minzoom}+`;
    zoom.title = `放大到 ${minzoom} 级可见 Visible from zoom ${minzoom}`;
    label.append(box, name, enSpan, zoom);
    li.append(label);
    list.append(li);
  }
  const updateHints = () => {
    const z = map.getZoom();
    for (const hint of list.querySelectorAll(".zoom-hint")) {
      hint.classList.toggle("out-of-range", z < Number(hint.dataset.minzoom));
    }
  };
  map.on("zoomend", updateHints);
  updateHints();
}

// -- grids by metric --------------------------------------------------------------------------
//
// The service's style colours grids and micro-grids by a block metric when asked
// (/styles/default.json?metric=…: quantile classes over the whole city, grey where a public
// count is suppressed); its metadata lists the metrics. A metric the service does not colour
// (a numeric TileJSON field only) is classed here from the tiles in view.

const CHOROPLETH = ["grids-fill", "micro_grids-fill"];
let original = null; // the paints of the choropleth layers before any colouring
let serviceMetrics = new Set(); // the metrics the service's style colours

async function buildMetricSelect(map, style) {
  const select = $("metric-select");
  // the service's metrics first, then any other numeric property of the grid tiles
  const metrics = [...((style.metadata && style.metadata["yizhi:metrics"]) || [])];
  serviceMetrics = new Set(metrics);
  try {
    const tj = await getJSON(url("tiles/grids.json"));
    const fields = (tj.vector_layers && tj.vector_layers[0] && tj.vector_layers[0].fields) || {};
    for (const [key, type] of Object.entries(fields)) {
      if (type === "Number" && !key.endsWith("_code") && !metrics.includes(key)) metrics.push(key);
    }
  } catch (err) {
    if (!metrics.length) {
      select.disabled = true;
      select.title = `网格图层不可用 Grid layer unavailable: ${err.message}`;
      return;
    }
  }
  for (const key of metrics) {
    const opt = document.createElement("option");
    opt.value = key;
    opt.textContent = fieldLabel(key);
    select.append(opt);
  }
  if (!metrics.includes(state.metric)) state.metric = "";
  select.value = state.metric;
  select.addEventListener("change", () => {
    state.metric = select.value;
    colourGrids(map);
  });
  if (state.metric) await colourGrids(map);
}

async function colourGrids(map) {
  const legend = $("metric-legend");
  const layers = CHOROPLETH.filter((id) => map.getLayer(id));
  if (original === null) {
    original = Object.fromEntries(
      layers.map((id) => [
        id,
        {
          color: map.getPaintProperty(id, "fill-color"),
          opacity: map.getPaintProperty(id, "fill-opacity"),
        },
      ]),
    );
  }
  const metric = state.metric;
  if (!metric) {
    for (const id of layers) {
      map.setPaintProperty(id, "fill-color", original[id].color);
      map.setPaintProperty(id, "fill-opacity", original[id].opacity);
    }
    drawStepLegend(legend, "", null);
    return;
  }
  let paints = null;
  try {
    if (!serviceMetrics.has(metric)) throw new Error("not a metric of the style");
    const styled = await getJSON(url("styles/default.json", { metric }));
    paints = Object.fromEntries(
      styled.layers.filter((l) => CHOROPLETH.includes(l.id)).map((l) => [l.id, l.paint]),
    );
  } catch {
    // not a metric the service colours: class the values of the loaded tiles
    paints = {};
    for (const id of layers) {
      const source = id.replace(/-fill$/, "");
      const cuts = breaks(loadedValues(map, source, source, metric));
      paints[id] = { "fill-color": metricColour(metric, cuts), "fill-opacity": 0.6 };
    }
  }
  if (state.metric !== metric) return; // the user chose another metric meanwhile
  for (const id of layers) {
    if (!paints[id]) continue;
    map.setPaintProperty(id, "fill-color", paints[id]["fill-color"]);
    map.setPaintProperty(id, "fill-opacity", paints[id]["fill-opacity"] ?? 0.6);
  }
  const box = document.querySelector('input[data-source="grids"]');
  if (box && !box.checked) box.click();
  const shown = paints["grids-fill"] ? "grids-fill" : layers[0];
  drawStepLegend(legend, metric, shown ? stepClasses(paints[shown]["fill-color"]) : null);
}

// -- heatmap ----------------------------------------------------------------------------------

function buildHeatToggle(map) {
  const box = $("heat-toggle");
  if (!map.getLayer(HEAT)) {
    box.disabled = true;
    box.closest("label").title = "没有事件图层 No events layer";
    return;
  }
  box.checked = map.getLayoutProperty(HEAT, "visibility") === "visible";
  $("heat-legend").hidden = !box.checked;
  box.addEventListener("change", () => {
    map.setLayoutProperty(HEAT, "visibility", box.checked ? "visible" : "none");
    $("heat-legend").hidden = !box.checked;
  });
}

// -- cards ------------------------------------------------------------------------------------

function select(map, feature) {
  if (state.selected) map.setFeatureState(state.selected, { selected: false });
  state.selected = null;
  if (feature && feature.id !== undefined) {
    state.selected = { source: feature.source, sourceLayer: feature.sourceLayer, id: feature.id };
    map.setFeatureState(state.selected, { selected: true });
  }
}

function closeCard(map) {
  $("card").hidden = true;
  select(map, null);
}

let cardRequest = null;

const CARD_TITLES = {
  building: ["建筑", "Building"],
  grid: ["网格", "Grid"],
  micro_grid: ["微网格", "Micro-grid"],
};

function section(titleText, ...children) {
  const sec = document.createElement("section");
  sec.className = "card-section";
  const h = document.createElement("h3");
  h.textContent = titleText;
  sec.append(h, ...children);
  return sec;
}

function metricTable(rows, block) {
  const table = document.createElement("table");
  table.className = "metrics";
  const body = document.createElement("tbody");
  for (const [metric, value] of rows) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = fieldLabel(metric);
    const td = document.createElement("td");
    td.textContent = value === null ? `< ${block.suppress_below || 5}` : fmt(Number(value));
    if (value === null) td.title = "小计数已抑制 Small count suppressed";
    tr.append(th, td);
    body.append(tr);
  }
  table.append(body);
  return table;
}

/** The card's content for an API answer: a GeoJSON Feature (properties, block_data) or a dict. */
function renderAnswer(data) {
  const props = data && data.type === "Feature" ? { ...(data.properties || {}) } : { ...data };
  const out = [];
  const parents = props.parents;
  delete props.parents;
  const children = props.children;
  delete props.children;
  if (parents && typeof parents === "object") {
    const trail = document.createElement("p");
    trail.className = "trail";
    trail.textContent = Object.values(parents)
      .map((p) => (p && (p.name || p.code)) || "")
      .filter(Boolean)
      .reverse()
      .join(" › ");
    if (trail.textContent) out.push(trail);
  }
  out.push(propertyList(props));
  const block = data && data.block_data;
  if (block && typeof block === "object") {
    const title = "区块数据 Block data";
    if (!block.available) {
      const p = document.createElement("p");
      p.className = "hint";
      p.textContent = "尚未计算 Not computed yet (yizhi fuse)";
      out.push(section(title, p));
    } else {
      // top-level metrics in a table; families (events.state.closed, …) folded under their name
      const families = new Map();
      const top = [];
      for (const [metric, value] of Object.entries(block.metrics || {})) {
        const parts = metric.split(".");
        if (parts.length >= 3) {
          const family = parts.slice(0, 2).join(".");
          if (!families.has(family)) families.set(family, []);
          families.get(family).push([parts.slice(2).join("."), value]);
        } else {
          top.push([metric, value]);
        }
      }
      const parts = [metricTable(top, block)];
      for (const [family, rows] of families) {
        const details = document.createElement("details");
        const summary = document.createElement("summary");
        summary.textContent = `${fieldLabel(family)} (${rows.length})`;
        details.append(summary, metricTable(rows, block));
        parts.push(details);
      }
      if (block.suppressed) {
        const p = document.createElement("p");
        p.className = "hint";
        p.textContent = `公开访问：小于 ${block.suppress_below} 的计数已抑制。Public access: counts below ${block.suppress_below} are suppressed.`;
        parts.push(p);
      }
      out.push(section(title, ...parts));
    }
  }
  if (children && typeof children === "object") {
    for (const [key, list] of Object.entries(children)) {
      if (!Array.isArray(list) || !list.length) continue;
      const ul = document.createElement("ul");
      ul.className = "children";
      for (const child of list.slice(0, 30)) {
        const li = document.createElement("li");
        const extra = child.households !== undefined ? ` · ${child.households} 户` : "";
        li.textContent = `${child.code || child.id || ""}${extra}`;
        ul.append(li);
      }
      const [zh, en] = layerLabel(key);
      out.push(section(`${zh} ${en} (${list.length})`, ul));
    }
  }
  return { props, nodes: out };
}

/** Show a card: `kind` in CARD_TITLES, fetched from `path`, with the tile properties as a
 *  fallback when the API has no answer. */
async function showCard(kind, id, path, fallback) {
  const [zh, en] = CARD_TITLES[kind] || [kind, ""];
  const body = $("card-body");
  const head = document.createElement("header");
  const kicker = document.createElement("p");
  kicker.className = "kicker";
  kicker.textContent = `${zh} ${en}`;
  const title = document.createElement("h2");
  title.textContent = id;
  head.append(kicker, title);
  const content = document.createElement("div");
  content.className = "card-content";
  content.textContent = "加载中… Loading…";
  body.replaceChildren(head, content);
  $("card").hidden = false;

  if (cardRequest) cardRequest.abort();
  const request = (cardRequest = new AbortController());
  try {
    const data = await getJSON(url(path), { signal: request.signal });
    const { props, nodes } = renderAnswer(data);
    const name = props.name && props.address ? props.name : props.address || props.name;
    if (name) {
      title.textContent = name;
      const sub = document.createElement("p");
      sub.className = "code";
      sub.textContent = id;
      head.append(sub);
    }
    content.replaceChildren(...nodes);
  } catch (err) {
    if (err.name === "AbortError") return;
    const note = document.createElement("p");
    note.className = "hint";
    note.textContent = `详情不可用，显示瓦片属性 Details unavailable (${err.message}); tile properties:`;
    content.replaceChildren(note, propertyList(fallback));
  }
}

function onClick(map, e) {
  const layers = CLICKABLE.filter(
    (id) => map.getLayer(id) && map.getLayoutProperty(id, "visibility") !== "none",
  );
  const hits = map.queryRenderedFeatures(e.point, { layers });
  const byLayer = (id) => hits.find((f) => f.layer.id === id);
  const building = byLayer("buildings-fill");
  const micro = byLayer("micro_grids-fill");
  const grid = byLayer("grids-fill");
  if (building) {
    select(map, building);
    const id = building.properties.building_id;
    showCard("building", id, `v1/buildings/${encodeURIComponent(id)}`, building.properties);
  } else if (micro) {
    select(map, micro);
    const code = micro.properties.micro_grid_code;
    showCard("micro_grid", code, `v1/micro-grids/${encodeURIComponent(code)}`, micro.properties);
  } else if (grid) {
    select(map, grid);
    const code = grid.properties.grid_code;
    showCard("grid", code, `v1/grids/${encodeURIComponent(code)}`, grid.properties);
  } else {
    closeCard(map);
  }
}

// -- search -----------------------------------------------------------------------------------

const KIND_NAMES = {
  building: "建筑 Building",
  room: "房间 Room",
  address: "地址 Address",
  doorplate: "门牌 Doorplate",
  road: "道路 Road",
  grid: "网格 Grid",
  micro_grid: "微网格 Micro-grid",
  community: "社区 Community",
  street: "街道 Street",
  district: "区县 District",
  estate: "小区 Estate",
};

function buildSearch(map) {
  const input = $("search-input");
  const list = $("search-results");
  const status = $("search-status");
  let hits = [];
  let active = -1;
  let timer = null;
  let controller = null;

  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };

  const highlight = (i) => {
    active = i;
    [...list.children].forEach((li, j) => li.setAttribute("aria-selected", String(j === i)));
    if (i >= 0 && list.children[i]) {
      input.setAttribute("aria-activedescendant", list.children[i].id);
      list.children[i].scrollIntoView({ block: "nearest" });
    }
  };

  const render = () => {
    list.replaceChildren();
    hits.forEach((hit, i) => {
      const li = document.createElement("li");
      li.id = `search-hit-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      const label = document.createElement("span");
      label.className = "hit-label";
      label.textContent = hit.label || hit.id;
      const kind = document.createElement("span");
      kind.className = "hit-kind";
      kind.textContent = KIND_NAMES[hit.kind] || hit.kind || "";
      li.append(label, kind);
      li.addEventListener("mousedown", (ev) => {
        ev.preventDefault(); // keep the focus in the input
        pick(i);
      });
      list.append(li);
    });
    list.hidden = hits.length === 0;
    input.setAttribute("aria-expanded", String(hits.length > 0));
    status.textContent = hits.length ? `${hits.length} 条结果 results` : "无结果 No results";
  };

  const run = async () => {
    const q = input.value.trim();
    if (q.length < 1) {
      hits = [];
      close();
      return;
    }
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const body = await getJSON(url("v1/search", { q, limit: 8 }), { signal: controller.signal });
      hits = Array.isArray(body) ? body : body.hits || body.results || body.items || [];
      render();
      highlight(hits.length ? 0 : -1);
    } catch (err) {
      if (err.name === "AbortError") return;
      hits = [];
      list.hidden = true;
      status.textContent = `搜索失败 Search failed: ${err.message}`;
    }
  };

  const pick = (i) => {
    const hit = hits[i];
    if (!hit) return;
    input.value = hit.label || hit.id;
    close();
    goTo(map, hit);
  };

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, 200);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" && hits.length) {
      e.preventDefault();
      if (list.hidden) render();
      highlight((active + 1) % hits.length);
    } else if (e.key === "ArrowUp" && hits.length) {
      e.preventDefault();
      highlight((active - 1 + hits.length) % hits.length);
    } else if (e.key === "Enter") {
      e.preventDefault();
      if (!list.hidden && active >= 0) pick(active);
      else {
        clearTimeout(timer);
        run().then(() => pick(0));
      }
    } else if (e.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
}

/** Move the map to a search hit (its bbox when it has one) and open its card. */
function goTo(map, hit) {
  const lon = Number(hit.lon);
  const lat = Number(hit.lat);
  const bbox = Array.isArray(hit.bbox) && hit.bbox.length === 4 ? hit.bbox.map(Number) : null;
  if (bbox && bbox.every(Number.isFinite) && (bbox[2] > bbox[0] || bbox[3] > bbox[1])) {
    map.fitBounds(
      [
        [bbox[0], bbox[1]],
        [bbox[2], bbox[3]],
      ],
      { padding: 80, maxZoom: 18, duration: 800 },
    );
  } else if (Number.isFinite(lon) && Number.isFinite(lat)) {
    map.flyTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), 17), duration: 800 });
  } else {
    return;
  }
  if (Number.isFinite(lon) && Number.isFinite(lat)) {
    if (!state.marker) {
      state.marker = new maplibregl.Marker({ color: "#e63946" });
    }
    state.marker.setLngLat([lon, lat]).addTo(map);
  }
  if (hit.kind === "building" && hit.id) {
    showCard("building", hit.id, `v1/buildings/${encodeURIComponent(hit.id)}`, hit);
  } else if (hit.kind === "grid" && hit.id) {
    showCard("grid", hit.id, `v1/grids/${encodeURIComponent(hit.id)}`, hit);
  } else if (hit.kind === "micro_grid" && hit.id) {
    showCard("micro_grid", hit.id, `v1/micro-grids/${encodeURIComponent(hit.id)}`, hit);
  }
}

// -- the page ---------------------------------------------------------------------------------

function buildChrome(map) {
  const toggle = $("panel-toggle");
  const panel = $("panel");
  if (window.matchMedia("(max-width: 700px)").matches) {
    panel.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
  }
  toggle.addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    toggle.setAttribute("aria-expanded", String(!panel.hidden));
  });
  $("card-close").addEventListener("click", () => closeCard(map));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("card").hidden) closeCard(map);
  });
  const key = $("key-input");
  key.value = apiKey();
  const apply = () => {
    if (key.value.trim() === apiKey()) return;
    setApiKey(key.value.trim());
    map.setStyle(map.getStyle()); // re-request tiles with the new key
  };
  key.addEventListener("change", apply);
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    apply();
  });
}

async function main() {
  let style;
  try {
    style = prepareStyle(await getJSON(url("styles/default.json")));
  } catch (err) {
    notice(`无法加载地图样式 Could not load the map style: ${err.message}`);
    throw err;
  }
  // frame the city (the buildings' bounds) unless the URL names a view (#map=z/lat/lon)
  let bounds = null;
  if (!location.hash.includes("map=")) {
    for (const layer of ["buildings", "grids"]) {
      if (!style.sources[layer]) continue;
      try {
        const tj = await getJSON(url(`tiles/${layer}.json`));
        if (Array.isArray(tj.bounds) && tj.bounds.length === 4) bounds = tj.bounds;
        break;
      } catch {
        /* try the next layer */
      }
    }
  }
  const map = new maplibregl.Map({
    container: "map",
    style,
    hash: "map",
    ...(bounds
      ? {
          bounds: [
            [bounds[0], bounds[1]],
            [bounds[2], bounds[3]],
          ],
          fitBoundsOptions: { padding: 40 },
        }
      : {}),
    transformRequest,
    attributionControl: { compact: true, customAttribution: "一址 yizhi" },
    maxZoom: 20,
  });
  window.yizhi = { map };
  map.addControl(new maplibregl.NavigationControl({ visualizePitch: false }), "bottom-left");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  buildChrome(map);
  buildSearch(map);
  map.on("click", (e) => onClick(map, e));
  map.on("mousemove", (e) => {
    const layers = CLICKABLE.filter((id) => map.getLayer(id));
    const hit = layers.length && map.queryRenderedFeatures(e.point, { layers }).length;
    map.getCanvas().style.cursor = hit ? "pointer" : "";
  });
  await new Promise((resolve) => map.once("load", resolve));
  buildLayerList(map, style);
  buildHeatToggle(map);
  await buildMetricSelect(map, style);
  window.yizhi.ready = true;
  document.body.dataset.ready = "true";
}

main();
