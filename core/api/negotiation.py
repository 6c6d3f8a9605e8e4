from rest_framework.negotiation import DefaultContentNegotiation


class SingleRendererNegotiation(DefaultContentNegotiation):
    """The POS API renders JSON only: with a single renderer there is nothing to negotiate, and
    parsing Accept headers on every checkout is wasted work. Views with several renderers (the
    OpenAPI schema) negotiate as usual."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if len(renderers) == 1 and not format_suffix:
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
