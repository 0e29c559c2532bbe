from ancrage.www.api_views.api import api

# Included by ancrage/config/urls.py at "api/": /api/v1/…, /api/openapi.json, /api/docs/.
app_name = "api"
urlpatterns = api.urls[0]
