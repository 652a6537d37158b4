// /embed/{layer}?metric=&bbox= : one layer of the default style, full frame, for an iframe.
// The server has checked the layer, the metric and the bbox before sending this page.

import {
  breaks,
  drawLegend,
  drawStepLegend,
  getJSON,
  loadedValues,
  metricColour,
  propertyList,
  stepClasses,
  transformRequest,
  url,
} from "./common.js";

const maplibregl = window.maplibregl;

const layer = decodeURIComponent(location.pathname.replace(/\/+$/, "").split("/").pop());
const params = new URLSearchParams(location.search);
const metric = params.get("metric") || "";
const bbox = (params.get("bbox") || "").split(",").map(Number);

/** The background and the style layers drawing `layer`; a fill to colour when there is a metric. */
function layerStyle(style, tj) {
  const keep = style.layers.filter((l) => l.type === "background" || l.source === layer);
  const sources = { [layer]: style.sources[layer] };
  const polygon = keep.some((l) => l.type === "fill") || keep.some((l) => l.id.endsWith("-line"));
  if (metric && polygon && !keep.some((l) => l.type === "fill")) {
    keep.splice(1, 0, {
      id: `${layer}-fill`,
      type: "fill",
      source: layer,
      "source-layer": layer,
      minzoom: tj.minzoom,
      paint: { "fill-color": "#cccccc", "fill-opacity": 0.6 },
    });
  }
  return { ...style, sources, layers: keep };
}

function recolour(map) {
  const cuts = breaks(loadedValues(map, layer, layer, metric));
  const colour = metricColour(metric, cuts);
  for (const l of map.getStyle().layers) {
    if (l.source !== layer) continue;
    if (l.type === "fill") {
      map.setPaintProperty(l.id, "fill-color", colour);
      map.setPaintProperty(l.id, "fill-opacity", 0.65);
    } else if (l.type === "circle") {
      map.setPaintProperty(l.id, "circle-color", colour);
    }
  }
  drawLegend(document.getElementById("legend"), metric, cuts);
}

/** The service's style, with `metric` coloured by the service when it knows the metric. */
async function serviceStyle() {
  const style = await getJSON(url("styles/default.json"));
  const known = (style.metadata && style.metadata["yizhi:metrics"]) || [];
  if (metric && known.includes(metric)) {
    return { style: await getJSON(url("styles/default.json", { metric })), coloured: true };
  }
  // no metric, or a numeric property the service does not colour (classed here from the tiles)
  return { style, coloured: false };
}

async function main() {
  const [{ style, coloured }, tj] = await Promise.all([
    serviceStyle(),
    getJSON(url(`tiles/${encodeURIComponent(layer)}.json`)),
  ]);
  const frame =
    bbox.length === 4 && bbox.every(Number.isFinite) ? bbox : tj.bounds || [-180, -85, 180, 85];
  const own = layerStyle(style, tj);
  const drawn = own.layers.filter((l) => l.source === layer).map((l) => l.id);
  const map = new maplibregl.Map({
    container: "map",
    style: own,
    bounds: [
      [frame[0], frame[1]],
      [frame[2], frame[3]],
    ],
    fitBoundsOptions: { padding: 10 },
    // the layer has tiles only from its minzoom: never zoom out to an empty map
    minZoom: tj.minzoom || 0,
    transformRequest,
    attributionControl: { compact: true },
  });
  window.yizhi = { map };
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.on("click", (e) => {
    const [f] = map.queryRenderedFeatures(e.point, { layers: drawn });
    if (!f) return;
    new maplibregl.Popup({ maxWidth: "320px" })
      .setLngLat(e.lngLat)
      .setDOMContent(propertyList(f.properties))
      .addTo(map);
  });
  map.on("mousemove", (e) => {
    const hit = map.queryRenderedFeatures(e.point, { layers: drawn }).length;
    map.getCanvas().style.cursor = hit ? "pointer" : "";
  });
  await new Promise((resolve) => map.once("load", resolve));
  const legend = document.getElementById("legend");
  const fill = own.layers.find((l) => l.type === "fill" && l.source === layer);
  const classes = coloured && fill ? stepClasses(fill.paint && fill.paint["fill-color"]) : null;
  if (classes) {
    drawStepLegend(legend, metric, classes);
  } else if (metric) {
    // class the loaded values whenever the map settles (a paint that does not change is a
    // no-op, so this converges)
    recolour(map);
    map.on("idle", () => recolour(map));
  }
  document.body.dataset.ready = "true";
}

main();
