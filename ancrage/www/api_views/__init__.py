"""The read-only REST API (``/api/v1/``), its OpenAPI schema and its documentation page.

django-ninja serves it: ``api.py`` builds the API (authentication, errors, the docs page),
``routes.py`` the endpoints, ``schemas.py`` what they return, ``auth.py`` the token
authentication and its rate limit. Every read goes through ``visible_to`` as the pages do.
"""
