"""Logins with failed-attempt limits: the password backend that enforces them everywhere, and the login page that says
so.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError

from core import limits


class LimitedModelBackend(ModelBackend):
    """Django's password check, not even tried while the account or the address is locked out; every failure counts.

    Enforced here rather than in one form, so that the admin's login is limited too.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if request is None or username is None or password is None:
            # Not a login over the web (a management command, a test client's login()): nothing to count.
            return super().authenticate(request, username=username, password=password, **kwargs)
        address = limits.client_address(request)
        wait = limits.login_wait(username=username, address=address)
        if wait:
            request.login_retry_after = wait
            raise PermissionDenied("too many failed logins")  # authenticate() then tries no other backend
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            request.login_retry_after = limits.login_failed(username=username, address=address)
        else:
            limits.login_succeeded(username=username)
        return user


def lockout_message(seconds: int) -> str:
    return (
        f"Too many failed logins for this account or from your address. Try again in {limits.wait_words(seconds)}, "
        "or reset your password."
    )


class LimitedAuthenticationForm(AuthenticationForm):
    def get_invalid_login_error(self):
        wait = getattr(self.request, "login_retry_after", 0)
        if wait:
            return ValidationError(lockout_message(wait), code="throttled")
        return super().get_invalid_login_error()


class LoginView(auth_views.LoginView):
    """Django's login page; a locked-out login gets 429 with Retry-After and a message saying when to try again."""

    authentication_form = LimitedAuthenticationForm

    def form_invalid(self, form):
        wait = getattr(self.request, "login_retry_after", 0)
        if not wait:
            return super().form_invalid(form)
        response = self.render_to_response(
            self.get_context_data(form=form, lockout_message=lockout_message(wait)), status=429
        )
        response["Retry-After"] = str(wait)
        return response
