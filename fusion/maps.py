"""Folium maps that work offline: Leaflet inlined from ``xstatic-leaflet``, nothing from a CDN.

folium links Leaflet, jQuery, Bootstrap, Font Awesome and awesome-markers from public CDNs, and a
choropleth legend pulls d3 from another. A map saved for an analyst on a closed network would
open blank. :func:`offline` rewrites a map in place so that the saved HTML needs nothing from
outside:

* Leaflet's script and stylesheet are inlined from the ``xstatic-leaflet`` package (its marker
  and layer-control images as ``data:`` URIs);
* jQuery, Bootstrap, glyphicons, Font Awesome and awesome-markers are dropped (plain maps,
  GeoJSON layers, choropleths, tooltips and popups do not use them, except folium's two uses of
  jQuery, ``$(html)[0]`` for popup content and ``$(document).ready``, which a ten-line shim
  answers);
* each branca colour scale (a choropleth's legend, drawn with d3) becomes a Leaflet control
  holding the scale as inline SVG;
* anything else that would come from the network (a plugin's script, a web tile layer) is
  refused with :class:`~common.errors.InvalidInput`, all such problems reported at once.

>>> import folium
>>> m = offline(folium.Map(location=[31.23, 121.49], zoom_start=14, tiles=None))
>>> html = m.get_root().render()
>>> "cdn.jsdelivr.net" in html, "L.map(" in html
(False, True)
"""

from __future__ import annotations

import base64
import json
import re
from functools import cache
from pathlib import Path

import folium
from branca.colormap import ColorMap
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

from common.errors import InvalidInput

#: folium's default resources that plain maps, GeoJSON, choropleths and tooltips do not need.
DROPPED = frozenset(
    {
        "jquery",
        "bootstrap",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers",
        "awesome_markers_css",
        "awesome_markers_font_css",
        "awesome_rotate_css",
    }
)

#: Names under which folium links Leaflet itself (replaced by the inlined copy).
_LEAFLET = frozenset({"leaflet", "leaflet_css"})

#: What folium's templates ask of jQuery: ``$(html)[0]`` (popups) and ``$(document).ready(f)``.
_JQUERY_SHIM = """window.$ = window.$ || function (arg) {
  if (typeof arg === 'string') {
    var t = document.createElement('template');
    t.innerHTML = arg.trim();
    return Array.prototype.slice.call(t.content.children);
  }
  return {ready: function (f) {
    if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', f); }
    else { f(); }
  }};
};"""

_REMOTE = re.compile(r"^(?:https?:)?//", re.IGNORECASE)


def _leaflet_dir() -> Path:
    import xstatic.pkg.leaflet as xleaflet

    return Path(xleaflet.BASE_DIR)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


@cache
def leaflet_inline() -> str:
    """The ``<style>`` and ``<script>`` elements that inline Leaflet (cached; about 200 kB).

    The stylesheet's images become ``data:`` URIs, and the default marker icon is pointed at
    them, so markers and the layer control draw without fetching anything.
    """
    base = _leaflet_dir()
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    css = re.sub(
        r"url\((?:\./)?images/([\w.-]+\.png)\)",
        lambda m: f"url({_data_uri(base / 'images' / m.group(1))})",
        css,
    )
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    js = re.sub(r"//# sourceMappingURL=\S+", "", js)
    icons = {
        "iconUrl": _data_uri(base / "images" / "marker-icon.png"),
        "iconRetinaUrl": _data_uri(base / "images" / "marker-icon-2x.png"),
        "shadowUrl": _data_uri(base / "images" / "marker-shadow.png"),
    }
    icon_js = (
        f"L.Icon.Default.imagePath = '';\nL.Icon.Default.mergeOptions({json.dumps(icons)});\n"
        + _JQUERY_SHIM
    )
    # "</" would end the inline element early; Leaflet's sources contain none, but be safe
    js = js.replace("</script", "<\\/script")
    return f"<style>\n{css}\n</style>\n<script>\n{js}\n</script>\n<script>\n{icon_js}\n</script>"


class _Legend(MacroElement):
    """A colour scale drawn as inline SVG inside a Leaflet control (no d3)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
            {{ this.get_name() }}.onAdd = function (map) {
                var div = L.DomUtil.create('div', 'legend yizhi-legend');
                div.style.background = 'rgba(255,255,255,0.85)';
                div.style.padding = '4px 8px';
                div.style.borderRadius = '4px';
                div.innerHTML = {{ this.svg|tojson }};
                return div;
            };
            {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, colormap: ColorMap, position: str = "topright") -> None:
        super().__init__()
        self._name = "Legend"
        self.position = position
        self.svg = colormap._repr_html_()


def _walk(element: Element) -> list[Element]:
    out = [element]
    for child in list(element._children.values()):
        out.extend(_walk(child))
    return out


def offline(m: folium.Map, *, allow_remote_tiles: bool = False) -> folium.Map:
    """Rewrite ``m`` in place so that its HTML loads nothing from the network; return it.

    Parameters
    ----------
    m
        The map, with all its layers added (call this last, just before ``save``).
    allow_remote_tiles
        Keep web tile layers (an OpenStreetMap background, say); by default a tile layer with an
        ``http(s)`` URL is refused, since the map would then need the network after all.

    Raises
    ------
    InvalidInput
        When an element needs a script, a stylesheet or tiles from the network that this helper
        cannot replace; the message lists every one.
    """
    problems: list[str] = []
    for element in _walk(m):
        if isinstance(element, ColorMap):
            parent = element._parent
            if parent is None:
                continue
            key = next(k for k, v in parent._children.items() if v is element)
            legend = _Legend(element)
            parent._children[key] = legend
            # rendered in place of the scale, but attached to the map (as a choropleth does)
            legend._parent = m
            if getattr(parent, "color_scale", None) is element:
                parent.color_scale = None  # type: ignore[attr-defined]
            continue
        if isinstance(element, folium.TileLayer) and not allow_remote_tiles:
            url = str(getattr(element, "tiles", ""))
            if _REMOTE.match(url):
                problems.append(f"tile layer {element.get_name()!r} loads tiles from {url!r}")
        if isinstance(element, JSCSSMixin):
            keep_js: list[tuple[str, str]] = []
            keep_css: list[tuple[str, str]] = []
            for name, url in element.default_js:
                if name in DROPPED or name in _LEAFLET:
                    continue
                if _REMOTE.match(url):
                    problems.append(f"{type(element).__name__} needs script {name!r} from {url!r}")
                    continue
                keep_js.append((name, url))
            for name, url in element.default_css:
                if name in DROPPED or name in _LEAFLET:
                    continue
                if _REMOTE.match(url):
                    problems.append(
                        f"{type(element).__name__} needs stylesheet {name!r} from {url!r}"
                    )
                    continue
                keep_css.append((name, url))
            # instance attributes: the class lists (shared by every map) stay untouched
            element.default_js = keep_js
            element.default_css = keep_css
    if problems:
        raise InvalidInput(
            "this folium map cannot work offline: " + "; ".join(problems),
            problems=problems,
        )
    root = m.get_root()
    if not isinstance(root, Figure):  # folium puts every map in a Figure
        raise InvalidInput(f"the map {m.get_name()!r} is not in a branca Figure")
    root.header.add_child(Element(leaflet_inline()), name="leaflet", index=0)
    return m


def save_offline(m: folium.Map, path: Path | str, *, allow_remote_tiles: bool = False) -> Path:
    """:func:`offline` then save ``m`` to ``path``; return the path.

    >>> import folium, tempfile
    >>> out = save_offline(folium.Map(tiles=None), Path(tempfile.mkdtemp()) / "map.html")
    >>> "<script src=\\"http" in out.read_text()
    False
    """
    path = Path(path)
    offline(m, allow_remote_tiles=allow_remote_tiles).save(str(path))
    return path
