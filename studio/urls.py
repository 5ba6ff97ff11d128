"""URL map: creator pages, the person pictured's pages, the public verifier, and the REST API under /api/."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from consent import api as consent_api
from consent import views as consent_views
from provenance import api as provenance_api
from provenance import views as provenance_views

from . import api, views

api_patterns = [
    path("api/portraits/", api.PortraitsApi.as_view(), name="api-portraits"),
    path("api/portraits/<uuid:portrait_id>/", api.PortraitDetailApi.as_view(), name="api-portrait"),
    path("api/portraits/<uuid:portrait_id>/consent-request/", api.ConsentRequestCreateApi.as_view(), name="api-consent-request"),
    path("api/renders/", api.RendersApi.as_view(), name="api-renders"),
    path("api/renders/<uuid:render_id>/", api.RenderDetailApi.as_view(), name="api-render"),
    path("api/renders/<uuid:render_id>/video/", api.RenderVideoApi.as_view(), name="api-render-video"),
    path("api/consent/revoke/<str:revoke_token>/", consent_api.ConsentRevokeApi.as_view(), name="api-consent-revoke"),
    path("api/consent/<str:token>/", consent_api.ConsentSubjectApi.as_view(), name="api-consent"),
    path("api/verify/", provenance_api.VerifyApi.as_view(), name="api-verify"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    *api_patterns,
    path("", views.dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("renders/<uuid:render_id>/video/", views.render_video, name="render-video"),
    path("consent/revoke/<str:revoke_token>/", consent_views.revoke_page, name="consent-revoke"),
    path("consent/<str:token>/", consent_views.consent_page, name="consent"),
    path("verify/", provenance_views.verify_page, name="verify"),
    path("admin/", admin.site.urls),
]
