"""The portal's Content-Security-Policy (django-csp): its pages run no script at all, take styles
only from our own stylesheet file and images only from our own host or inline SVG, and post forms
only to our own host. An injected `<script>` or `style` attribute does nothing.

Set per portal view (every route in `portal/urls.py` goes through `portal_page`) rather than for
the whole site: the Django admin and the API docs need inline scripts and keep their own rules."""

from csp.constants import NONE, SELF
from csp.decorators import csp

PORTAL_POLICY = {
    "default-src": [NONE],
    "style-src": [SELF],
    "img-src": [SELF, "data:"],
    "font-src": [SELF],
    "form-action": [SELF],
    "base-uri": [NONE],
    "frame-ancestors": [NONE],
}

portal_csp = csp(PORTAL_POLICY)
