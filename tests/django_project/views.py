"""Views exercising what Django code asks of request.session: sync and async
views, auth login/logout, messages, a CSRF-protected form, set_expiry and the
test cookie, fastsession's flash messages, and the routes of tests/interop/app.mjs for the
Express interop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import aauthenticate, alogin, alogout, authenticate, login, logout
from django.contrib.sessions.exceptions import SessionInterrupted
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template import engines
from django.views.decorators.csrf import csrf_exempt

from fastsession import flash, get_flashed_messages

FORM = engines["django"].from_string(
    '<form method="post" action="/form">{% csrf_token %}<button>send</button></form>'
)


def _state(request: HttpRequest, **extra: Any) -> JsonResponse:
    session: Any = request.session
    return JsonResponse({"session_key": session.session_key, **extra})


def counter(request: HttpRequest) -> JsonResponse:
    request.session["views"] = request.session.get("views", 0) + 1
    return _state(request, views=request.session["views"])


async def acounter(request: HttpRequest) -> JsonResponse:
    session: Any = request.session
    await session.aset("views", (await session.aget("views", 0)) + 1)
    return _state(request, views=await session.aget("views"))


def save_after_logout(request: HttpRequest) -> JsonResponse:
    """A logout in another tab (the store's destroy) lands while this request
    runs; its explicit save must not bring the session back."""
    session: Any = request.session
    key = session.session_key
    settings.FASTSESSION["store"].destroy(key)
    session["late"] = True
    try:
        session.save()
    except SessionInterrupted:
        return JsonResponse({"session_key": key, "interrupted": True})
    return JsonResponse({"session_key": key, "interrupted": False})


async def asave_after_logout(request: HttpRequest) -> JsonResponse:
    session: Any = request.session
    key = session.session_key
    settings.FASTSESSION["store"].destroy(key)
    await session.aset("late", True)
    try:
        await session.asave()
    except SessionInterrupted:
        return JsonResponse({"session_key": key, "interrupted": True})
    return JsonResponse({"session_key": key, "interrupted": False})


@csrf_exempt
def login_view(request: HttpRequest) -> HttpResponse:
    before = request.session.session_key
    user = authenticate(
        request, username=request.POST["username"], password=request.POST["password"]
    )
    if user is None:
        return HttpResponse("bad credentials", status=403)
    login(request, user)
    request.session["key_before_login"] = before
    return redirect("/whoami")


@csrf_exempt
async def alogin_view(request: HttpRequest) -> HttpResponse:
    user = await aauthenticate(
        request, username=request.POST["username"], password=request.POST["password"]
    )
    if user is None:
        return HttpResponse("bad credentials", status=403)
    await alogin(request, user)
    return redirect("/whoami")


def whoami(request: HttpRequest) -> JsonResponse:
    user = request.user
    session: Any = request.session
    return _state(
        request,
        user=user.get_username() if user.is_authenticated else None,
        data=dict(session.items()),
        key_before_login=session.get("key_before_login"),
    )


@csrf_exempt
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "logged out")
    return redirect("/messages/show")


@csrf_exempt
async def alogout_view(request: HttpRequest) -> HttpResponse:
    await alogout(request)
    return _state(request, data=dict(await request.session.aitems()))


def add_message(request: HttpRequest) -> HttpResponse:
    messages.success(request, request.GET["text"])
    return redirect("/messages/show")


def show_messages(request: HttpRequest) -> JsonResponse:
    return _state(request, messages=[str(m) for m in messages.get_messages(request)])


def flash_add(request: HttpRequest) -> JsonResponse:
    flash(request.session, request.GET["message"], request.GET.get("category", "message"))
    return JsonResponse({"flashed": True})


async def flash_show(request: HttpRequest) -> JsonResponse:
    # Read twice, as a layout and its page would: the second call sees the same.
    first = get_flashed_messages(request.session, with_categories=True)
    again = get_flashed_messages(request.session, with_categories=True)
    return JsonResponse({"first": first, "again": again})


def form(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return HttpResponse("accepted")
    return HttpResponse(FORM.render({}, request))


def expiry(request: HttpRequest) -> JsonResponse:
    session: Any = request.session
    value = request.GET.get("value")
    if value is not None:
        arg: Any
        if value == "none":
            arg = None
        elif value.startswith("td"):
            arg = timedelta(seconds=int(value[2:]))
        elif value.startswith("dt"):
            arg = datetime.now(UTC) + timedelta(seconds=int(value[2:]))
        else:
            arg = int(value)
        session.set_expiry(arg)
    session["touched"] = True
    return _state(
        request,
        age=session.get_expiry_age(),
        date=session.get_expiry_date().timestamp(),
        at_browser_close=session.get_expire_at_browser_close(),
        cookie_age=session.get_session_cookie_age(),
    )


def set_test_cookie(request: HttpRequest) -> JsonResponse:
    request.session.set_test_cookie()
    return _state(request)


def check_test_cookie(request: HttpRequest) -> JsonResponse:
    worked = request.session.test_cookie_worked()
    if worked and request.GET.get("delete"):
        request.session.delete_test_cookie()
    return _state(request, worked=worked, after=request.session.test_cookie_worked())


def boom(request: HttpRequest) -> HttpResponse:
    request.session["lost"] = True
    return HttpResponse("failed", status=500)


# -- the routes of tests/interop/app.mjs ------------------------------------------------


def _interop(request: HttpRequest, side: str) -> JsonResponse:
    session: Any = request.session
    return JsonResponse(
        {
            "side": side,
            "sid": session.fastsession.id,
            "views": session.get("views"),
            "user": session.get("user"),
        }
    )


def interop_whoami(request: HttpRequest, side: str) -> JsonResponse:
    return _interop(request, side)


@csrf_exempt
def interop_views(request: HttpRequest, side: str) -> JsonResponse:
    request.session["views"] = (request.session.get("views") or 0) + 1
    return _interop(request, side)


@csrf_exempt
def interop_login(request: HttpRequest, side: str) -> JsonResponse:
    request.session["user"] = request.GET["user"]
    return _interop(request, side)


@csrf_exempt
def interop_logout(request: HttpRequest, side: str) -> JsonResponse:
    request.session.flush()
    return JsonResponse({"side": side, "sid": None})
