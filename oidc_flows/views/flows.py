"""The public flow table (/flows and /flows.json), rendered from policy.py."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from .. import flowtable


def flows_page(request: HttpRequest) -> HttpResponse:
    response = render(request, "oidc_flows/flows.html", {"table": flowtable.build()})
    patch_cache_control(response, public=True, max_age=3600)
    return response


def flows_json(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(flowtable.build())
    patch_cache_control(response, public=True, max_age=3600)
    response["Access-Control-Allow-Origin"] = "*"
    return response
