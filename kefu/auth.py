"""Sign-in plumbing: Flask-Login set-up and the role check every view declares."""
import functools

from flask import abort
from flask import current_app
from flask import redirect
from flask import request
from flask import url_for
from flask_htmx import HTMX
from flask_login import LoginManager
from flask_login import current_user

from . import access
from .users import User

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录"
login_manager.session_protection = "basic"
login_manager.id_attribute = "session_id"

ALL_ROLES = ("admin", "supervisor", "assistant", "frontdesk", "unit")
STAFF = ("supervisor", "assistant", "frontdesk", "admin")


@login_manager.user_loader
def load_user(session_id):
    """The user of a live sign-in, unless it has been idle or open longer than the estate allows."""
    import datetime

    from .web import estate

    user = access.for_one_request(User.from_session_id(session_id))
    if user is None or not current_app.config.get("SESSION_TIMEOUTS", True):
        return user
    settings = estate()
    if user.session_expired(datetime.timedelta(hours=settings.session_idle_hours),
                            datetime.timedelta(days=settings.session_max_days)):
        return None
    return user


@login_manager.unauthorized_handler
def unauthorized():
    target = url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
    if HTMX().__bool__():
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


def roles(*allowed):
    """Allow a view only to signed-in users with one of the given roles; others get 403."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = allowed
        return wrapped

    return decorator


def can(*allowed):
    return current_user.is_authenticated and current_user.role in allowed
