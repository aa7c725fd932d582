"""Render our OpenAPI document as one self-contained HTML page (served at ``/docs``).

No JavaScript and nothing fetched from elsewhere: the stylesheet ``docs.css`` is bundled next
to the document and inlined. Descriptions use a small subset of Markdown (paragraphs, ``-``
lists, ```code```, ``**bold**``); everything else is shown as text, escaped.
"""

from __future__ import annotations

import html
import re
from typing import Any

from fortytwo.openapi import asset, document

METHODS = ("get", "put", "post", "patch", "delete")
_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def _inline(text: str) -> str:
    out = []
    for i, part in enumerate(_CODE.split(text)):
        if i % 2:
            out.append(f"<code>{html.escape(part)}</code>")
        else:
            out.append(_BOLD.sub(r"<strong>\1</strong>", html.escape(part)))
    return "".join(out)


def markdown(text: str | None) -> str:
    """Paragraphs and ``-`` lists; continuation lines of a list item are joined to it."""
    if not text:
        return ""
    blocks: list[str] = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        lines = [line.rstrip() for line in chunk.splitlines()]
        if lines and lines[0].lstrip().startswith("- "):
            items: list[str] = []
            for line in lines:
                stripped = line.strip()
                if stripped.startswith("- "):
                    items.append(stripped[2:])
                elif items:
                    items[-1] += " " + stripped
            blocks.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
        else:
            blocks.append("<p>" + _inline(" ".join(line.strip() for line in lines)) + "</p>")
    return "".join(blocks)


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()


def operation_anchor(method: str, path: str, op: dict[str, Any]) -> str:
    return "op-" + _slug(op.get("operationId") or f"{method}-{path}")


class Renderer:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.schemas: dict[str, Any] = doc.get("components", {}).get("schemas", {})

    # -- helpers ---------------------------------------------------------------------------

    def deref(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.doc
            for part in node["$ref"][2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **siblings} if siblings else target
        return node

    @staticmethod
    def _schema_name(node: Any) -> str | None:
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            prefix = "#/components/schemas/"
            if node["$ref"].startswith(prefix):
                return node["$ref"][len(prefix):]
        return None

    def type_label(self, node: Any) -> str:
        """A short description of a schema's type: ``string (date-time)``, ``Booking``…"""
        name = self._schema_name(node)
        if name:
            return f'<a href="#schema-{_slug(name)}">{html.escape(name)}</a>'
        if not isinstance(node, dict):
            return "any"
        for key in ("anyOf", "oneOf"):
            if key in node:
                return " or ".join(self.type_label(branch) for branch in node[key])
        if "allOf" in node:
            return " + ".join(self.type_label(part) for part in node["allOf"])
        kinds = node.get("type")
        kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
        parts = []
        for kind in kinds:
            if kind == "array":
                parts.append(f"array of {self.type_label(node.get('items', {}))}")
            elif kind != "null":
                parts.append(kind)
        label = " | ".join(parts) or ("any" if not kinds else "")
        if node.get("format"):
            label += f" ({html.escape(node['format'])})"
        if "null" in kinds:
            label = f"{label} or null" if label else "null"
        return label

    def constraints(self, node: dict[str, Any]) -> str:
        bits = []
        if "const" in node:
            bits.append(f"always <code>{html.escape(repr_json(node['const']))}</code>")
        if "enum" in node:
            values = ", ".join(f"<code>{html.escape(repr_json(v))}</code>" for v in node["enum"])
            bits.append(f"one of {values}")
        for key, text in (
            ("default", "default"), ("minimum", "min"), ("maximum", "max"),
            ("minLength", "min length"), ("maxLength", "max length"),
            ("minItems", "min items"), ("maxItems", "max items"),
            ("maxProperties", "max keys"), ("pattern", "pattern"),
        ):
            if key in node:
                bits.append(f"{text} <code>{html.escape(repr_json(node[key]))}</code>")
        return "; ".join(bits)

    def badges(self, node: dict[str, Any]) -> str:
        out = ""
        if node.get("x-fortytwo-addition"):
            title = html.escape(str(node["x-fortytwo-addition"]), quote=True)
            out += f' <span class="badge addition" title="{title}">fortytwo addition</span>'
        if node.get("x-fortytwo-stricter"):
            title = html.escape(str(node["x-fortytwo-stricter"]), quote=True)
            out += f' <span class="badge stricter" title="{title}">stricter</span>'
        return out

    def flat(self, node: Any) -> dict[str, Any]:
        """``node`` resolved, with the parts of an ``allOf`` merged into one object."""
        node = self.deref(node)
        if not isinstance(node, dict):
            return {}
        if "allOf" not in node:
            return node
        merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
        properties: dict[str, Any] = {}
        required: list[str] = []
        for part in node["allOf"]:
            flat = self.flat(part)
            properties.update(flat.get("properties", {}))
            required += flat.get("required", [])
            for key, value in flat.items():
                if key not in ("properties", "required", "description"):
                    merged.setdefault(key, value)
        merged["properties"] = properties
        merged["required"] = required
        return merged

    def properties(self, node: Any, depth: int = 0) -> str:
        """The fields of an object schema as a nested list; below the top, named schemas are
        linked rather than expanded."""
        if depth > 0 and self._schema_name(node):
            return ""
        node = self.flat(node)
        items = node.get("items")
        if items is not None and not node.get("properties"):
            return self.properties(items, depth + 1)
        props = node.get("properties", {})
        if not props:
            return ""
        required = set(node.get("required", []))
        rows = []
        for name, sub in props.items():
            resolved = self.deref(sub)
            resolved = resolved if isinstance(resolved, dict) else {}
            flag = '<span class="req">required</span>' if name in required else '<span class="opt">optional</span>'
            detail = self.constraints(resolved)
            nested = "" if depth >= 6 else self.properties(sub, depth + 1)
            rows.append(
                "<li>"
                f'<code class="field">{html.escape(name)}</code> '
                f'<span class="type">{self.type_label(sub)}</span> {flag}{self.badges(resolved)}'
                + (f'<div class="constraints">{detail}</div>' if detail else "")
                + (f'<div class="desc">{markdown(resolved.get("description"))}</div>' if resolved.get("description") else "")
                + nested
                + "</li>"
            )
        return '<ul class="fields">' + "".join(rows) + "</ul>"

    def schema_block(self, node: Any, *, expand_named: bool = True) -> str:
        top = f'<div class="schema-type">{self.type_label(node)}</div>'
        return top + self.properties(node, 0 if expand_named else 1)

    # -- sections --------------------------------------------------------------------------

    def operations(self) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
        found = []
        for path, item in self.doc.get("paths", {}).items():
            for method in METHODS:
                if method in item:
                    found.append((method, path, item, item[method]))
        return found

    def security(self, op: dict[str, Any]) -> str:
        requirements = op.get("security", self.doc.get("security", []))
        if not requirements:
            return '<p class="auth">No token needed.</p>'
        scopes = sorted({s for req in requirements for scopes in req.values() for s in scopes})
        if not scopes:
            return '<p class="auth">Any valid token.</p>'
        listed = ", ".join(f"<code>{html.escape(s)}</code>" for s in scopes)
        return f'<p class="auth">Token scope: {listed}</p>'

    def parameters(self, item: dict[str, Any], op: dict[str, Any]) -> str:
        params = [self.deref(p) for p in [*item.get("parameters", []), *op.get("parameters", [])]]
        if not params:
            return ""
        rows = []
        for p in params:
            schema = self.deref(p.get("schema", {}))
            detail = self.constraints(schema if isinstance(schema, dict) else {})
            desc = markdown(p.get("description")) + (f'<div class="constraints">{detail}</div>' if detail else "")
            flag = '<span class="req">required</span>' if p.get("required") else '<span class="opt">optional</span>'
            rows.append(
                f'<tr><td><code class="field">{html.escape(p["name"])}</code>{self.badges(p)}{self.badges(schema if isinstance(schema, dict) else {})}</td>'
                f'<td>{html.escape(p["in"])}</td><td>{self.type_label(p.get("schema", {}))}</td>'
                f"<td>{flag}</td><td>{desc}</td></tr>"
            )
        return (
            "<h4>Parameters</h4><table><thead><tr><th>name</th><th>in</th><th>type</th>"
            "<th></th><th>description</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        )

    def request_body(self, op: dict[str, Any]) -> str:
        body = op.get("requestBody")
        if body is None:
            return ""
        body = self.deref(body)
        flag = "required" if body.get("required") else "optional"
        parts = [f"<h4>Request body <span class=\"{'req' if body.get('required') else 'opt'}\">{flag}</span></h4>"]
        if body.get("description"):
            parts.append(markdown(body["description"]))
        for media, content in body.get("content", {}).items():
            parts.append(f'<div class="media">{html.escape(media)}</div>')
            parts.append(self.schema_block(content.get("schema", {})))
        return "".join(parts)

    def responses(self, op: dict[str, Any]) -> str:
        rows = []
        for status, response in op.get("responses", {}).items():
            ref_name = None
            if isinstance(response, dict) and "$ref" in response:
                ref_name = response["$ref"].rsplit("/", 1)[-1]
            resolved = self.deref(response)
            headers = ", ".join(f"<code>{html.escape(h)}</code>" for h in resolved.get("headers", {}))
            body = ""
            for media, content in resolved.get("content", {}).items():
                schema = content.get("schema", {})
                body += f'<div class="media">{html.escape(media)}</div>' + self.schema_block(
                    schema, expand_named=False
                )
            kind = "ok" if status.startswith("2") else "err"
            rows.append(
                f'<div class="response"><div class="status {kind}">{html.escape(status)}'
                + (f' <span class="refname">{html.escape(ref_name)}</span>' if ref_name else "")
                + "</div>"
                + markdown(resolved.get("description"))
                + (f'<p class="headers">Headers: {headers}</p>' if headers else "")
                + body
                + "</div>"
            )
        return "<h4>Responses</h4>" + "".join(rows)

    def operation(self, method: str, path: str, item: dict[str, Any], op: dict[str, Any]) -> str:
        anchor = operation_anchor(method, path, op)
        return (
            f'<section class="operation" id="{anchor}">'
            f'<h3><span class="method {method}">{method.upper()}</span> '
            f'<span class="path">{html.escape(path)}</span></h3>'
            f'<p class="summary">{_inline(op.get("summary", ""))}</p>'
            + self.security(op)
            + markdown(op.get("description"))
            + self.parameters(item, op)
            + self.request_body(op)
            + self.responses(op)
            + "</section>"
        )

    def toc(self, grouped: dict[str, list]) -> str:
        parts = ['<nav class="toc"><h2>Operations</h2>']
        for tag, ops in grouped.items():
            parts.append(f'<h3><a href="#tag-{_slug(tag)}">{html.escape(tag)}</a></h3><ul>')
            for method, path, _item, op in ops:
                parts.append(
                    f'<li><a href="#{operation_anchor(method, path, op)}">'
                    f'<span class="method {method}">{method.upper()}</span> {html.escape(path)}</a></li>'
                )
            parts.append("</ul>")
        parts.append('<h3><a href="#webhooks">Deliveries to you</a></h3>')
        parts.append('<h3><a href="#schemas">Schemas</a></h3>')
        parts.append('<h3><a href="#auth">Authentication</a></h3></nav>')
        return "".join(parts)

    def webhooks(self) -> str:
        hooks = self.doc.get("webhooks", {})
        if not hooks:
            return ""
        parts = ['<section id="webhooks"><h2>Deliveries to you (webhooks)</h2>']
        for name, item in hooks.items():
            for method in METHODS:
                if method in item:
                    op = item[method]
                    parts.append(
                        f'<section class="operation webhook" id="{operation_anchor(method, name, op)}">'
                        f'<h3><span class="method {method}">{method.upper()}</span> '
                        f'<span class="path">{html.escape(name)}</span></h3>'
                        f'<p class="summary">{_inline(op.get("summary", ""))}</p>'
                        + markdown(op.get("description"))
                        + self.parameters({}, op)
                        + self.request_body(op)
                        + "</section>"
                    )
        return "".join(parts) + "</section>"

    def schema_section(self) -> str:
        parts = ['<section id="schemas"><h2>Schemas</h2>']
        for name, schema in self.schemas.items():
            parts.append(
                f'<section class="schema" id="schema-{_slug(name)}"><h3>{html.escape(name)}</h3>'
                + markdown(schema.get("description"))
                + f'<div class="constraints">{self.constraints(schema)}</div>'
                + self.schema_block(schema)
                + "</section>"
            )
        return "".join(parts) + "</section>"

    def auth_section(self) -> str:
        parts = ['<section id="auth"><h2>Authentication</h2>']
        for name, scheme in self.doc.get("components", {}).get("securitySchemes", {}).items():
            parts.append(f"<h3>{html.escape(name)}</h3>" + markdown(scheme.get("description")))
            for flow in scheme.get("flows", {}).values():
                scopes = flow.get("scopes", {})
                if scopes:
                    parts.append("<table><thead><tr><th>scope</th><th>grants</th></tr></thead><tbody>")
                    parts += [
                        f"<tr><td><code>{html.escape(s)}</code></td><td>{html.escape(d)}</td></tr>"
                        for s, d in scopes.items()
                    ]
                    parts.append("</tbody></table>")
        return "".join(parts) + "</section>"

    def page(self) -> str:
        info = self.doc.get("info", {})
        grouped: dict[str, list] = {tag["name"]: [] for tag in self.doc.get("tags", [])}
        for method, path, item, op in self.operations():
            grouped.setdefault((op.get("tags") or ["Other"])[0], []).append((method, path, item, op))
        grouped = {tag: ops for tag, ops in grouped.items() if ops}
        tag_text = {tag["name"]: tag.get("description", "") for tag in self.doc.get("tags", [])}
        body = []
        for tag, ops in grouped.items():
            body.append(f'<section class="tag" id="tag-{_slug(tag)}"><h2>{html.escape(tag)}</h2>')
            body.append(markdown(tag_text.get(tag)))
            body += [self.operation(*entry) for entry in ops]
            body.append("</section>")
        title = html.escape(f"{info.get('title', 'API')} {info.get('version', '')}".strip())
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title}</title><style>{asset('docs.css')}</style></head><body>"
            f'<header><h1>{title}</h1><p class="lead">{_inline(info.get("summary", ""))}</p>'
            '<p class="links">This page is generated from <a href="/openapi.yaml">/openapi.yaml</a> '
            '(also <a href="/openapi.json">/openapi.json</a>).</p></header>'
            f'<div class="layout">{self.toc(grouped)}<main>'
            f'<section class="intro">{markdown(info.get("description"))}</section>'
            + "".join(body)
            + self.webhooks()
            + self.schema_section()
            + self.auth_section()
            + "</main></div></body></html>\n"
        )


def repr_json(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def render_page(doc: dict[str, Any] | None = None) -> str:
    """The HTML reference for ``doc`` (our own document by default)."""
    return Renderer(doc if doc is not None else document()).page()
