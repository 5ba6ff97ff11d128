"""Routes of the consent app: the person pictured's API and pages, the public key, the registry, the creator's event and
hold views.
"""

from django.urls import path

from . import api, capture_api, views

_LIVE_BASES = [
    ("api/consent/<str:token>/captures/", "api-consent-captures"),
    ("api/registry/<uuid:entry_id>/captures/", "api-registry-captures"),
    ("api/registry/remove/<str:remove_token>/captures/", "api-registry-remove-captures"),
]

urlpatterns = [
    path("api/consent/public-key/", api.ConsentPublicKeyApi.as_view(), name="api-consent-public-key"),
    path("api/consent/erase/<str:revoke_token>/", api.ConsentEraseApi.as_view(), name="api-consent-erase"),
    path("api/consent/<str:token>/receipt/", api.ConsentReceiptApi.as_view(), name="api-consent-receipt"),
    path("api/consent/<str:token>/events/", api.ConsentEventsApi.as_view(), name="api-consent-events"),
    path("api/registry-holds/<uuid:hold_id>/", api.RegistryHoldApi.as_view(), name="api-registry-hold"),
    path("api/registry/", api.RegistryStartApi.as_view(), name="api-registry"),
    path("api/registry/<uuid:entry_id>/", api.RegistryEntryApi.as_view(), name="api-registry-entry"),
    path("api/registry/confirm/<str:confirm_token>/", api.RegistryConfirmApi.as_view(), name="api-registry-confirm"),
    path("api/registry/remove/<str:remove_token>/", api.RegistryRemoveApi.as_view(), name="api-registry-remove"),
    *(path(base, capture_api.CaptureOpenApi.as_view(), name=name) for base, name in _LIVE_BASES),
    *(
        path(f"{base}<uuid:capture_id>/chunks/<int:seq>/", capture_api.CaptureChunkApi.as_view(), name=f"{name}-chunk")
        for base, name in _LIVE_BASES
    ),
    *(
        path(f"{base}<uuid:capture_id>/finish/", capture_api.CaptureFinishApi.as_view(), name=f"{name}-finish")
        for base, name in _LIVE_BASES
    ),
    path("consent/<str:token>/portrait.jpg", views.consent_portrait, name="consent-portrait"),
    path("consent/<str:token>/videos/", views.videos_page, name="consent-videos"),
    path("consent/<str:token>/receipt/", views.receipt_page, name="consent-receipt"),
    path("registry/", views.registry_page, name="registry"),
    path("registry/<uuid:entry_id>/", views.registry_capture_page, name="registry-capture"),
    path("registry/confirm/<str:confirm_token>/", views.registry_confirm_page, name="registry-confirm"),
    path("registry/remove/<str:remove_token>/", views.registry_remove_page, name="registry-remove"),
]
