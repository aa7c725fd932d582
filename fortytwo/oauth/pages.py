"""The sign-in, consent and error pages: plain server-rendered HTML.

No scripts, no external assets (the one style sheet is inline and allowed by its hash in the
Content-Security-Policy), forms that work without JavaScript, a layout that fits a phone.
Every value that comes from a request or the database is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from fortytwo.http.secheaders import page_headers, style_hash
from fortytwo.security.scopes import DESCRIPTIONS

FORM_ACTION = "authorize"  # relative: keeps any path prefix a reverse proxy adds

CSS = """
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#59636e;--bg:#f4f5f7;--card:#fff;
--line:#d8dde3;--accent:#1f5fd1;--accent-fg:#fff;--bad:#a4161a;--bad-bg:#fde8e8}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ed;--muted:#9aa4af;--bg:#111417;
--card:#1b1f24;--line:#343b43;--accent:#5b93f0;--accent-fg:#0b0d10;--bad:#ff9b9b;
--bad-bg:#3a1b1d}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,
"Segoe UI",Roboto,sans-serif;-webkit-text-size-adjust:100%}
main{max-width:26rem;margin:2rem auto;padding:1.5rem;background:var(--card);
border:1px solid var(--line);border-radius:12px}
@media (max-width:30rem){main{margin:0;border:0;border-radius:0;min-height:100vh}}
h1{font-size:1.35rem;line-height:1.3;margin:0 0 .5rem}
p{margin:.5rem 0}
.brand{font-size:.8rem;letter-spacing:.06em;text-transform:uppercase;color:var(--muted);
margin:0 0 1rem}
.lead{color:var(--muted)}
.fine{font-size:.85rem;color:var(--muted)}
.alert{background:var(--bad-bg);color:var(--bad);border-radius:8px;padding:.6rem .8rem}
label{display:block;font-weight:600;margin:1rem 0 .3rem}
input[type=text],input[type=password]{width:100%;font:inherit;padding:.65rem .75rem;
border:1px solid var(--line);border-radius:8px;background:transparent;color:inherit}
input:focus,button:focus{outline:3px solid var(--accent);outline-offset:1px}
button{font:inherit;font-weight:600;padding:.7rem 1rem;border-radius:8px;cursor:pointer;
border:1px solid var(--line);background:transparent;color:var(--fg);min-height:2.75rem}
button.primary{background:var(--accent);border-color:var(--accent);color:var(--accent-fg)}
.actions{display:flex;gap:.75rem;margin-top:1.25rem}
.actions button{flex:1}
form.signin button{width:100%;margin-top:1.25rem}
ul.scopes{list-style:none;padding:0;margin:.75rem 0;border-top:1px solid var(--line)}
ul.scopes li{padding:.6rem 0;border-bottom:1px solid var(--line)}
ul.scopes code{display:block;font-size:.8rem;color:var(--muted)}
.who{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem;font-size:.9rem;
color:var(--muted)}
.who form{display:inline}
.who button{padding:.2rem .6rem;min-height:0;font-size:.85rem;font-weight:500}
.client-id{font-size:.8rem;color:var(--muted);word-break:break-all}
"""
STYLE_SOURCE = style_hash(CSS)


def security_headers(form_action: Iterable[str] = ()) -> dict[str, str]:
    """Headers for every page: a strict CSP (form posts only to us, and — because a browser
    checks the redirect after a post against form-action — to the client's redirect
    origin), no framing, no caching, no referrer."""
    return page_headers([STYLE_SOURCE], ["'self'", *form_action])


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"referrer\" content=\"no-referrer\">\n"
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        "<p class=\"brand\">fortytwo</p>\n"
        f"{body}\n</main>\n</body>\n</html>\n"
    )


def _hidden(fields: Iterable[tuple[str, str]]) -> str:
    return "\n".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in fields
    )


@dataclass(frozen=True)
class ClientView:
    """What a page says about the application asking for access."""

    name: str
    client_id: str
    redirect_host: str
    self_registered: bool

    def notes(self) -> str:
        lines = [
            f'<p class="client-id">App id {escape(self.client_id)}</p>',
        ]
        if self.self_registered:
            lines.append(
                '<p class="fine">This app registered itself with this server; its name has '
                "not been checked by an administrator.</p>"
            )
        return "\n".join(lines)


def error_page(title: str, message: str) -> str:
    return _page(
        title,
        f"<h1>{escape(title)}</h1>\n<p>{escape(message)}</p>\n"
        '<p class="fine">Close this page and go back to the application you came from.</p>',
    )


def sign_in_page(
    client: ClientView,
    fields: Iterable[tuple[str, str]],
    csrf: str,
    *,
    error: str | None = None,
    username: str = "",
) -> str:
    alert = f'<p class="alert" role="alert">{escape(error)}</p>\n' if error else ""
    body = (
        "<h1>Sign in</h1>\n"
        f'<p class="lead">to continue to <strong>{escape(client.name)}</strong></p>\n'
        f"{alert}"
        f'<form class="signin" method="post" action="{FORM_ACTION}">\n'
        + _hidden([("form", "sign_in"), ("csrf_token", csrf), *fields])
        + "\n<label for=\"username\">Username</label>\n"
        f'<input type="text" id="username" name="username" value="{escape(username)}" '
        'autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="100" '
        "required autofocus>\n"
        '<label for="password">Password</label>\n'
        '<input type="password" id="password" name="password" autocomplete="current-password" '
        'maxlength="1000" required>\n'
        '<button type="submit" class="primary">Sign in</button>\n</form>\n'
        f'<p class="fine">Next you choose what {escape(client.name)} may do; then you go back '
        f"to {escape(client.redirect_host)}.</p>\n" + client.notes()
    )
    return _page(f"Sign in to continue to {client.name}", body)


def scope_items(scopes: Iterable[str]) -> str:
    return "\n".join(
        f"<li>{escape(DESCRIPTIONS.get(scope, scope))}<code>{escape(scope)}</code></li>"
        for scope in scopes
    )


def consent_page(
    client: ClientView,
    fields: Iterable[tuple[str, str]],
    csrf: str,
    *,
    username: str,
    scopes: Iterable[str],
) -> str:
    fields = list(fields)
    body = (
        f"<h1>Allow {escape(client.name)} to use your account?</h1>\n"
        f'<div class="who"><span>Signed in as <strong>{escape(username)}</strong></span>'
        f'<form method="post" action="{FORM_ACTION}">'
        + _hidden([("form", "sign_out"), ("csrf_token", csrf), *fields])
        + '<button type="submit">Not you?</button></form></div>\n'
        f"<p>{escape(client.name)} will be able to:</p>\n"
        f'<ul class="scopes">\n{scope_items(scopes)}\n</ul>\n'
        f'<form method="post" action="{FORM_ACTION}">\n'
        + _hidden([("form", "consent"), ("csrf_token", csrf), *fields])
        + '\n<div class="actions">\n'
        '<button type="submit" name="decision" value="deny">Deny</button>\n'
        '<button type="submit" name="decision" value="approve" class="primary">Allow</button>\n'
        "</div>\n</form>\n"
        f'<p class="fine">Either way you go back to {escape(client.redirect_host)}.</p>\n'
        + client.notes()
    )
    return _page(f"Allow {client.name}?", body)
