from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from analytics import admin_views as analytics_admin_views
from imports.views import import_page
from loyalty.api_docs import SCHEMA_AUTHENTICATION, ApiDocsVisible

api_v1 = [
    path("", include("members.api.urls")),
    path("", include("rewards.api.urls")),
    path("", include("feedback.api.urls")),
    path("", include("analytics.api.urls")),
]

urlpatterns = [
    # Members are the many who come here (from a receipt's QR code); staff go to /admin/. Not
    # permanent, so browsers keep asking should the front page change again.
    path("", RedirectView.as_view(pattern_name="portal:home", permanent=False), name="home"),
    # Before admin/: the import page is a back-office page of its own, behind the admin's login.
    path("admin/imports/", admin.site.admin_view(import_page), name="imports"),
    path("admin/analytics/dashboard/", include((analytics_admin_views.urls(), "analytics-admin"))),
    path("admin/", admin.site.urls),
    path("staff/", include("staff.urls")),
    path("portal/", include("portal.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(api_v1)),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(authentication_classes=SCHEMA_AUTHENTICATION, permission_classes=[ApiDocsVisible]),
        name="schema",
    ),
    # A static viewer: it shows the schema only to whom /api/schema/ serves it (the browser sends
    # the admin session along), so the page itself stays reachable.
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[AllowAny]),
        name="swagger-ui",
    ),
    path("", include("feedback.urls")),
    path("", include("messaging.urls")),
]
