"""First run without the demo: a one-time code, printed in the server's terminal, lets whoever
started the server create the first administrator in the browser; then the set-up steps.

The code lives in the instance folder (readable by the server's user only) until the administrator
exists, so every worker process of the server checks the same code.
"""
import hmac
import os
import secrets

from . import users
from .db import RuleError
from .users import User

CODE_FILE = "setup-code"
STEPS = [("estate", "小区信息与服务时间"), ("buildings", "楼栋与房号"), ("zones", "管辖区域"),
         ("units", "业务块"), ("users", "人员账号"), ("import", "导入住户等")]


class SetupError(RuleError):
    pass


def needs_setup():
    """True while no live administrator exists."""
    return not User.live().where((User.role == "admin") & User.active).exists()


def code(instance):
    """The one-time code, made on first asking."""
    path = os.path.join(instance, CODE_FILE)
    try:
        with open(path) as handle:
            made = handle.read().strip()
        if made:
            return made
    except OSError:
        pass
    made = f"{secrets.randbelow(10 ** 8):08d}"
    os.makedirs(instance, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(made)
    return made


def create_first_admin(instance, typed_code, username, display_name, password):
    """The first administrator, if the code is right and none exists yet; the code is then spent."""
    if not needs_setup():
        raise SetupError("管理员已创建，请直接登录")
    expected = code(instance)
    if not hmac.compare_digest(expected.encode(), (typed_code or "").strip().replace(" ", "").encode()):
        raise SetupError("设置码不对：请看启动服务的终端里打印的 8 位数字", "code")
    user = users.create_user(None, username, display_name, "admin", password)
    try:
        os.remove(os.path.join(instance, CODE_FILE))
    except OSError:
        pass
    return user


def next_step(step):
    keys = [key for key, _ in STEPS]
    index = keys.index(step)
    return keys[index + 1] if index + 1 < len(keys) else None
