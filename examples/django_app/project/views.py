"""A view counter, a sign-in by name and sign-out, with flash messages."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.template import engines
from django.views.decorators.http import require_POST

PAGE = engines["django"].from_string(
    """<!doctype html>
{% for message in messages %}<p class="message">{{ message }}</p>{% endfor %}
<p>views: {{ views }}</p>
{% if name %}<p>hello, {{ name }}!</p>
<form method="post" action="/logout">{% csrf_token %}<button>sign out</button></form>
{% else %}<form method="post" action="/login">{% csrf_token %}
<input name="name" placeholder="your name"><button>sign in</button></form>{% endif %}
"""
)


def home(request: HttpRequest) -> HttpResponse:
    session = request.session
    session["views"] = session.get("views", 0) + 1
    context = {
        "views": session["views"],
        "name": session.get("name"),
        "messages": messages.get_messages(request),
    }
    return HttpResponse(PAGE.render(context, request))


@require_POST
def login(request: HttpRequest) -> HttpResponseBase:
    name = request.POST.get("name", "").strip()
    if not name:
        messages.error(request, "a name, please")
        return redirect("/")
    # A new session id for the signed-in user, the data kept (what auth.login does).
    request.session.cycle_key()
    request.session["name"] = name
    messages.success(request, f"welcome back, {name}")
    return redirect("/")


@require_POST
def logout(request: HttpRequest) -> HttpResponseBase:
    # The session leaves the store; the message goes into a new one.
    request.session.flush()
    messages.info(request, "signed out")
    return redirect("/")
