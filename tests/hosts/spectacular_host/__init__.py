"""A host that serves drf-spectacular's schema of all its views, skips among them.

Its own view authenticates with REST framework's ``BasicAuthentication`` and
``SessionAuthentication``, and ``SPECTACULAR_SETTINGS`` keeps drf-spectacular's
defaults (``SERVE_INCLUDE_SCHEMA`` on, so the schema view is described too): the
security schemes of skips must not take the names of REST framework's.
"""
