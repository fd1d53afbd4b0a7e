"""Render: an ``Issue`` through a Jinja2 + MJML theme into inlined HTML and plain text (a build)."""
