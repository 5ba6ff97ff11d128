"""URL map: creator pages, the person pictured's pages, the public verifier, and the REST API under /api/."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from consent import api as consent_api
from consent import views as consent_views
from studio import api, share_pages, signin, views
from verifier import api as verifier_api
from verifier import soft_binding_api
from verifier import views as verifier_views

api_patterns = [
    path("api/portraits/", api.PortraitsApi.as_view(), name="api-portraits"),
    path("api/portraits/<uuid:portrait_id>/", api.PortraitDetailApi.as_view(), name="api-portrait"),
    path(
        "api/portraits/<uuid:portrait_id>/consent-request/",
        api.ConsentRequestCreateApi.as_view(),
        name="api-consent-request",
    ),
    path(
        "api/portraits/<uuid:portrait_id>/consent-events/",
        api.PortraitConsentEventsApi.as_view(),
        name="api-portrait-consent-events",
    ),
    path("api/renders/", api.RendersApi.as_view(), name="api-renders"),
    path("api/renders/preview/", api.RenderPreviewApi.as_view(), name="api-render-preview"),
    path("api/renders/localize/", api.RendersLocalizeApi.as_view(), name="api-renders-localize"),
    path("api/voices/", api.VoicesApi.as_view(), name="api-voices"),
    path("api/renders/<uuid:render_id>/", api.RenderDetailApi.as_view(), name="api-render"),
    path("api/renders/<uuid:render_id>/video/", api.RenderVideoApi.as_view(), name="api-render-video"),
    path("api/renders/<uuid:render_id>/share-link/", api.RenderShareLinkApi.as_view(), name="api-render-share-link"),
    path("api/consent/revoke/<str:revoke_token>/", consent_api.ConsentRevokeApi.as_view(), name="api-consent-revoke"),
    path("api/consent/<str:token>/", consent_api.ConsentSubjectApi.as_view(), name="api-consent"),
    path("api/verify/", verifier_api.VerifyApi.as_view(), name="api-verify"),
    # The C2PA Soft Binding Resolution API: its own paths (no trailing slash) under this base.
    path("api/c2pa/matches/byBinding", soft_binding_api.MatchesByBindingApi.as_view(), name="c2pa-matches-by-binding"),
    path("api/c2pa/matches/byContent", soft_binding_api.MatchesByContentApi.as_view(), name="c2pa-matches-by-content"),
    path("api/c2pa/manifests/<str:manifest_id>", soft_binding_api.ManifestApi.as_view(), name="c2pa-manifest"),
    path(
        "api/c2pa/services/supportedAlgorithms",
        soft_binding_api.SupportedAlgorithmsApi.as_view(),
        name="c2pa-supported-algorithms",
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    # First: its fixed paths (api/consent/public-key/) would otherwise be taken for consent tokens below.
    path("", include("consent.urls")),
    *api_patterns,
    path("", views.dashboard, name="dashboard"),
    path("signup/", views.signup, name="signup"),
    path("login/", signin.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"
    ),
    path("password-reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("account/token/", views.api_token, name="api-token"),
    path("portraits/new/", views.portrait_new, name="portrait-new"),
    path("portraits/<uuid:portrait_id>/", views.portrait_detail, name="portrait"),
    path("portraits/<uuid:portrait_id>/image/", views.portrait_image, name="portrait-image"),
    path("portraits/<uuid:portrait_id>/consent-request/", views.consent_request, name="portrait-consent-request"),
    path("renders/new/", views.render_new, name="render-new"),
    path("renders/preview/", views.render_preview, name="render-preview"),
    path("renders/localize/", views.localize, name="renders-localize"),
    path("renders/compare/", views.renders_compare, name="renders-compare"),
    path("renders/<uuid:render_id>/", views.render_detail, name="render"),
    path("renders/<uuid:render_id>/status/", views.render_status, name="render-status"),
    path("renders/<uuid:render_id>/video/", views.render_video, name="render-video"),
    path("renders/<uuid:render_id>/captions.vtt", views.render_captions, name="render-captions"),
    path("renders/<uuid:render_id>/captions.srt", views.render_captions_srt, name="render-captions-srt"),
    path("renders/<uuid:render_id>/thumbnail.jpg", views.render_thumbnail, name="render-thumbnail"),
    path("renders/<uuid:render_id>/title/", views.render_title, name="render-title"),
    path("renders/<uuid:render_id>/share/", views.render_share, name="render-share"),
    path("renders/<uuid:render_id>/delete/", views.render_delete, name="render-delete"),
    path("voices/<str:language>/", views.voices, name="voices"),
    path("voices/<str:language>/<str:voice>/sample.wav", views.voice_sample, name="voice-sample"),
    path("watch/<str:token>/", share_pages.shared_page, name="shared"),
    path("watch/<str:token>/video.mp4", share_pages.shared_video, name="shared-video"),
    path("watch/<str:token>/captions.vtt", share_pages.shared_captions, name="shared-captions"),
    path("watch/<str:token>/captions.srt", share_pages.shared_captions_srt, name="shared-captions-srt"),
    path("watch/<str:token>/thumbnail.jpg", share_pages.shared_thumbnail, name="shared-thumbnail"),
    path("watch/<str:token>/embed/", share_pages.shared_embed, name="shared-embed"),
    path("how-candor-works/", views.how_it_works, name="how-it-works"),
    path("consent/revoke/<str:revoke_token>/", consent_views.revoke_page, name="consent-revoke"),
    path("consent/<str:token>/", consent_views.consent_page, name="consent"),
    path("verify/", verifier_views.verify_page, name="verify"),
    path("admin/", admin.site.urls),
]
