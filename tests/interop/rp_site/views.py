"""What the relying party knows about its visitor, as JSON for the tests."""

from django.http import HttpRequest, JsonResponse


def whoami(request: HttpRequest) -> JsonResponse:
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"authenticated": False})
    return JsonResponse(
        {
            "authenticated": True,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "has_id_token": bool(request.session.get("oidc_id_token")),
        }
    )


def failed(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"authenticated": False, "failed": True}, status=403)
