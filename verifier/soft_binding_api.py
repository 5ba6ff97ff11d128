"""The C2PA Soft Binding Resolution API (v1.1.0 routes, field names and statuses), mounted under /api/c2pa/.

Public like the verifier. Lookups are throttled per client at CANDOR_VERIFY_RATE in their own bucket; sending a
video shares the verifier's bucket and its slots, since it costs the same work.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FileUploadParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApplicationError, ErrorCode
from provenance.c2pa_manifest import C2PA_MIME

from . import soft_binding
from .throttling import VerifyRateThrottle, verification_slot


class SoftBindingLookupRateThrottle(VerifyRateThrottle):
    scope = "soft_binding_lookup"


class VideoBodyParser(FileUploadParser):
    """The request body is the video itself (any video/* type), as the API specifies; it is spooled like an upload."""

    media_type = "video/*"

    def get_filename(self, stream, media_type, parser_context):
        return "upload.video"


class MatchOutput(serializers.Serializer):
    manifestId = serializers.CharField()  # the API's field name, camelCase


class QueryResultOutput(serializers.Serializer):
    matches = MatchOutput(many=True)


class SoftBindingQueryInput(serializers.Serializer):
    alg = serializers.CharField(max_length=200)
    value = serializers.CharField(max_length=4000)


_MAX_RESULTS = OpenApiParameter("maxResults", OpenApiTypes.INT, description="1 to 100, default 10")


class _PublicApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [SoftBindingLookupRateThrottle]


class MatchesByBindingApi(_PublicApi):
    @extend_schema(
        operation_id="queryByBinding",
        parameters=[
            OpenApiParameter("alg", str, required=True),
            OpenApiParameter("value", str, required=True, description="the soft binding's value, base64"),
            _MAX_RESULTS,
        ],
        responses=QueryResultOutput,
    )
    def get(self, request):
        query = SoftBindingQueryInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        return self._matches(query.validated_data, request.query_params.get("maxResults"))

    @extend_schema(
        operation_id="queryByLargeBinding",
        request=SoftBindingQueryInput,
        parameters=[_MAX_RESULTS],
        responses=QueryResultOutput,
    )
    def post(self, request):
        query = SoftBindingQueryInput(data=request.data)
        query.is_valid(raise_exception=True)
        return self._matches(query.validated_data, request.query_params.get("maxResults"))

    def _matches(self, query: dict, max_results: str | None) -> Response:
        matches = soft_binding.matches_by_binding(
            alg=query["alg"], value=query["value"], max_results=soft_binding.max_results_parse(max_results)
        )
        return Response({"matches": matches})


class MatchesByContentApi(_PublicApi):
    throttle_classes = [VerifyRateThrottle]
    parser_classes = [VideoBodyParser]

    @extend_schema(
        operation_id="uploadFile",
        request={"video/*": OpenApiTypes.BINARY},
        parameters=[OpenApiParameter("alg", str), _MAX_RESULTS],
        responses=QueryResultOutput,
    )
    def post(self, request):
        if not request.content_type.startswith("video/"):
            raise ApplicationError(
                ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                "send the video itself as the request body with a video/* Content-Type (e.g. video/mp4); "
                "this repository resolves videos only",
            )
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared.isdigit() and int(declared) > settings.CANDOR_MAX_VIDEO_BYTES:
            raise ApplicationError(
                ErrorCode.TOO_LARGE, f"videos up to {settings.CANDOR_MAX_VIDEO_BYTES / 1e6:.0f} MB can be resolved"
            )
        max_results = soft_binding.max_results_parse(request.query_params.get("maxResults"))
        upload = request.data.get("file")
        if upload is None:
            raise ApplicationError(ErrorCode.INVALID_VIDEO, "the request body is empty: send the video itself")
        with verification_slot():
            matches = soft_binding.matches_by_content(
                upload=upload, alg=request.query_params.get("alg", ""), max_results=max_results
            )
        return Response({"matches": matches})


class ManifestApi(_PublicApi):
    @extend_schema(
        operation_id="getManifestById",
        parameters=[OpenApiParameter("returnActiveManifest", bool)],
        responses={(200, C2PA_MIME): OpenApiTypes.BINARY},
    )
    def get(self, request, manifest_id: str):
        active_only = request.query_params.get("returnActiveManifest", "false").lower()
        if active_only not in ("true", "false"):
            raise ApplicationError(ErrorCode.INVALID, "returnActiveManifest must be true or false")
        store = soft_binding.manifest_store_get(manifest_id=manifest_id, active_manifest_only=active_only == "true")
        return HttpResponse(store, content_type=C2PA_MIME)


class SupportedAlgorithmsApi(_PublicApi):
    @extend_schema(operation_id="getSupportedBindings", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(soft_binding.supported_algorithms())
