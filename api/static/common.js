// Shared by the viewer and the embed page: URLs, JSON fetches, layer names, metric colouring.
// Everything is fetched from this service; nothing from outside.

/** Root of the service (the folder above /static/), so the pages work under a path prefix. */
export const ROOT = new URL("..", import.meta.url);

const KEY_STORAGE = "yizhi.apiKey";

/** The API key the user typed into the viewer (kept for this tab only), or "". */
export function apiKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";
  }
}

export function setApiKey(value) {
  try {
    if (value) sessionStorage.setItem(KEY_STORAGE, value);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    /* storage may be disabled: the key then lasts until reload */
  }
}

/** An absolute URL under the service root. */
export function url(path, params) {
  const u = new URL(path.replace(/^\//, ""), ROOT);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, v);
  }
  return u.toString();
}

/** Same-origin requests carry the API key (when one is set). */
export function transformRequest(target) {
  const key = apiKey();
  if (key && target.startsWith(ROOT.origin)) {
    return { url: target, headers: { "X-API-Key": key } };
  }
  return { url: target };
}

/** GET JSON; throws an Error whose message is the problem's detail on a 4xx/5xx. */
export async function getJSON(target, { signal } = {}) {
  const headers = { Accept: "application/json" };
  const key = apiKey();
  if (key) headers["X-API-Key"] = key;
  const resp = await fetch(target, { headers, signal });
  if (!resp.ok) {
    let detail = `${resp.status} ${resp.statusText}`;
    try {
      const body = await resp.json();
      if (body && body.detail) detail = body.detail;
    } catch {
      /* not JSON */
    }
    const err = new Error(detail);
    err.status = resp.status;
    throw err;
  }
  return resp.json();
}

/** Chinese and English names of the layers of the default style. */
export const LAYER_NAMES = {
  districts: ["区县", "Districts"],
  streets: ["街道/乡镇", "Streets & towns"],
  communities: ["社区/村", "Communities"],
  grids: ["网格", "Grids"],
  micro_grids: ["微网格", "Micro-grids"],
  unit_grids: ["万米单元网格", "Unit grids"],
  roads: ["道路", "Roads"],
  buildings: ["建筑", "Buildings"],
  doorplates: ["门牌", "Doorplates"],
  events: ["事件", "Events"],
  sensors: ["感知设备", "Sensors & cameras"],
  event_density: ["事件密度格网", "Event density cells"],
  camera_coverage: ["视频覆盖", "Camera coverage"],
};

/** Chinese and English names of properties and block metrics shown on cards and in selects. */
export const FIELD_NAMES = {
  building_id: ["建筑编码", "Building ID"],
  address: ["地址", "Address"],
  name: ["名称", "Name"],
  use: ["用途", "Use"],
  floors: ["层数", "Floors"],
  height_m: ["高度 (m)", "Height (m)"],
  footprint_m2: ["占地 (m²)", "Footprint (m²)"],
  households: ["户数", "Households"],
  units: ["单元", "Units"],
  buildings: ["建筑数", "Buildings"],
  micro_grids: ["微网格数", "Micro-grids"],
  community_code: ["社区编码", "Community"],
  grid_code: ["网格编码", "Grid"],
  micro_grid_code: ["微网格编码", "Micro-grid"],
  unit_grid_code: ["单元网格编码", "Unit grid"],
  doorplate_id: ["门牌编码", "Doorplate"],
  status: ["状态", "Status"],
  cap: ["上限", "Cap"],
  area_m2: ["面积 (m²)", "Area (m²)"],
  people: ["人口", "People"],
  residents: ["常住人口", "Residents"],
  events: ["事件数", "Events"],
  overdue: ["超期事件", "Overdue events"],
  open: ["未结事件", "Open events"],
  rooms: ["房间", "Rooms"],
  history: ["历史", "History"],
  block: ["区块数据", "Block data"],
  blocks: ["区块数据", "Block data"],
  block_data: ["区块数据", "Block data"],
  metrics: ["指标", "Metrics"],
  code: ["编码", "Code"],
  level: ["层级", "Level"],
  state: ["状态", "State"],
  source: ["来源", "Source"],
  source_id: ["来源编号", "Source ID"],
  sensor_type: ["设备类型", "Sensor type"],
  category_kind: ["类别", "Kind"],
  category_code: ["类别代码", "Category"],
  reported_at: ["上报时间", "Reported"],
  road_code: ["道路编码", "Road"],
  road_class: ["道路等级", "Road class"],
  number: ["门牌号", "Number"],
  enclosure: ["围合", "Enclosure"],
  flagged: ["标记", "Flagged"],
  lon: ["经度", "Longitude"],
  lat: ["纬度", "Latitude"],
  kind: ["类型", "Kind"],
  version: ["版本", "Version"],
  micro_grid_count: ["微网格数", "Micro-grids"],
  over_cap: ["超上限", "Over cap"],
  compactness: ["紧凑度", "Compactness"],
  estates: ["小区", "Estates"],
  grid_worker: ["网格员", "Grid worker"],
  predecessors: ["前身", "Predecessors"],
  successors: ["后继", "Successors"],
  current_successors: ["现行后继", "Current successors"],
  retired_by: ["注销原因", "Retired by"],
  building_no: ["楼号", "Building no."],
  estate_id: ["小区编码", "Estate"],
  birth_year: ["赋码年份", "Coded in"],
  birth_community_code: ["赋码社区", "Coded in community"],
  elderly_alone: ["独居老人", "Elderly living alone"],
  enterprises: ["法人单位", "Enterprises"],
  rented_houses: ["出租房屋", "Rented houses"],
  events_overdue: ["超期事件", "Overdue events"],
  sensors: ["感知设备", "Sensors"],
  camera_coverage: ["视频覆盖率", "Camera coverage"],
  "events.state": ["事件状态", "Events by state"],
  "events.category": ["事件类别", "Events by category"],
  "enterprises.industry": ["法人单位行业", "Enterprises by industry"],
  "sensors.status": ["设备状态", "Sensors by status"],
  "sensors.type": ["设备类型", "Sensors by type"],
  closed: ["已结案", "closed"],
  reported: ["已上报", "reported"],
  registered: ["已立案", "registered"],
  dispatched: ["已派遣", "dispatched"],
  handled: ["已处置", "handled"],
  verified: ["已核查", "verified"],
  "residents.registered": ["户籍人口", "Registered residents"],
  "residents.floating": ["流动人口", "Floating residents"],
  "care.elderly_alone": ["独居老人", "Elderly living alone"],
  "houses.rented": ["出租房屋", "Rented houses"],
  "events.overdue": ["超期事件", "Overdue events"],
  "coverage.public_m2": ["公共空间 (m²)", "Public space (m²)"],
  "coverage.covered_m2": ["视频覆盖 (m²)", "Covered by cameras (m²)"],
};

export function fieldLabel(key) {
  const pair = FIELD_NAMES[key];
  return pair ? `${pair[0]} ${pair[1]}` : key.replaceAll("_", " ");
}

export function layerLabel(id) {
  const pair = LAYER_NAMES[id];
  return pair || [id.replaceAll("_", " "), ""];
}

/** YlOrRd, five classes (ColorBrewer). */
export const RAMP = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"];
export const NO_DATA = "#d0d4d9";

/** Up to five increasing class breaks (quantiles) of the finite values. */
export function breaks(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return [];
  const out = [];
  for (let i = 1; i < RAMP.length; i++) {
    const q = v[Math.min(v.length - 1, Math.floor((i * v.length) / RAMP.length))];
    if (!out.length || q > out[out.length - 1]) out.push(q);
  }
  if (out.length && out[0] <= v[0]) out.shift(); // the first class starts at the minimum
  return [v[0], ...out];
}

/** A MapLibre expression colouring by `metric` in classes starting at `cuts` (see breaks). */
export function metricColour(metric, cuts) {
  if (!cuts.length) return NO_DATA;
  const step = ["step", ["to-number", ["get", metric]], RAMP[0]];
  cuts.slice(1).forEach((c, i) => step.push(c, RAMP[i + 1]));
  return ["case", ["has", metric], step, NO_DATA];
}

/** Numeric values of `metric` in the loaded tiles of `source` (deduplicated by feature id). */
export function loadedValues(map, source, sourceLayer, metric) {
  const seen = new Map();
  for (const f of map.querySourceFeatures(source, { sourceLayer })) {
    const v = Number(f.properties[metric]);
    if (f.properties[metric] !== undefined && Number.isFinite(v)) seen.set(f.id ?? seen.size, v);
  }
  return [...seen.values()];
}

export function fmt(x) {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString("zh-CN");
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) < 1 ? x.toFixed(2) : x.toFixed(1);
}

/** The class breaks and colours of a ["case", test, ["step", input, c0, b1, c1, …], other]
 *  expression (as the service's style builds them), or null when it has another shape. */
export function stepClasses(expr) {
  if (!Array.isArray(expr)) return null;
  const step = expr[0] === "step" ? expr : expr.find((e) => Array.isArray(e) && e[0] === "step");
  if (!step) return null;
  const colours = [step[2]];
  const cuts = [];
  for (let i = 3; i + 1 < step.length; i += 2) {
    cuts.push(Number(step[i]));
    colours.push(step[i + 1]);
  }
  const other = expr[0] === "case" ? expr[expr.length - 1] : NO_DATA;
  return { cuts, colours, other: typeof other === "string" ? other : NO_DATA };
}

/** Fill `el` with a legend of classes from `stepClasses` (lowest class from `min`). */
export function drawStepLegend(el, metric, classes) {
  el.replaceChildren();
  if (!metric || !classes) return;
  const title = document.createElement("div");
  title.className = "legend-title";
  title.textContent = fieldLabel(metric);
  el.append(title);
  const row = (colour, text) => {
    const r = document.createElement("div");
    r.className = "legend-row";
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = colour;
    const label = document.createElement("span");
    label.textContent = text;
    r.append(sw, label);
    el.append(r);
  };
  const { cuts, colours, other } = classes;
  colours.forEach((c, i) => {
    if (!cuts.length) row(c, "全部 all");
    else if (i === 0) row(c, `< ${fmt(cuts[0])}`);
    else if (i < cuts.length) row(c, `${fmt(cuts[i - 1])} – ${fmt(cuts[i])}`);
    else row(c, `≥ ${fmt(cuts[i - 1])}`);
  });
  row(other, "无数据/已抑制 No data / suppressed");
}

/** Fill `el` with a legend of the classes. */
export function drawLegend(el, metric, cuts) {
  el.replaceChildren();
  if (!metric) return;
  if (!cuts.length) {
    el.textContent = "当前范围无数据 No data in view";
    return;
  }
  const title = document.createElement("div");
  title.className = "legend-title";
  title.textContent = fieldLabel(metric);
  el.append(title);
  cuts.forEach((c, i) => {
    const row = document.createElement("div");
    row.className = "legend-row";
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = RAMP[i];
    const label = document.createElement("span");
    label.textContent = i + 1 < cuts.length ? `${fmt(c)} – ${fmt(cuts[i + 1])}` : `≥ ${fmt(c)}`;
    row.append(sw, label);
    el.append(row);
  });
  const row = document.createElement("div");
  row.className = "legend-row";
  const sw = document.createElement("span");
  sw.className = "swatch";
  sw.style.background = NO_DATA;
  const label = document.createElement("span");
  label.textContent = "无数据 No data";
  row.append(sw, label);
  el.append(row);
}

const SKIPPED = new Set(["geometry", "geom", "bbox", "wkt", "kind", "use_source"]);

/** A property value as text: codes and years as they are, counts grouped, coordinates to 6 dp. */
function valueText(key, value) {
  if (typeof value !== "number") return String(value);
  if (/(^|_)(id|code|year|version|number)$/.test(key)) return String(value);
  if (key === "lon" || key === "lat") return value.toFixed(6);
  return fmt(value);
}

/** A definition list of the scalar properties of `obj` (nested objects as sub-lists).
 *  A flag `<key>_estimated` marks the value of `<key>` as an estimate instead of its own row. */
export function propertyList(obj, depth = 0) {
  const dl = document.createElement("dl");
  dl.className = "props";
  for (const [key, value] of Object.entries(obj || {})) {
    if (value === null || value === undefined || value === "") continue;
    if (SKIPPED.has(key) || key.endsWith("_estimated")) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    const dt = document.createElement("dt");
    dt.textContent = fieldLabel(key);
    const dd = document.createElement("dd");
    if (Array.isArray(value)) {
      if (value.every((v) => typeof v !== "object" || v === null)) {
        dd.textContent = value.slice(0, 12).join(", ") + (value.length > 12 ? " …" : "");
      } else {
        dd.textContent = `${value.length} 项 items`;
      }
    } else if (typeof value === "object") {
      if (depth >= 2) continue;
      dd.append(propertyList(value, depth + 1));
    } else if (typeof value === "boolean") {
      dd.textContent = value ? "是 yes" : "否 no";
    } else {
      dd.textContent = valueText(key, value);
      if (obj[`${key}_estimated`] === true) {
        const est = document.createElement("span");
        est.className = "estimated";
        est.textContent = " 估 est.";
        est.title = "估算值 An estimate";
        dd.append(est);
      }
    }
    dl.append(dt, dd);
  }
  return dl;
}
