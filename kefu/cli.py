"""Command-line tasks: init-db, create-admin, demo and serve."""
import os
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from . import db
from . import users
from .estate import Estate


def init_app(app):
    for command in (init_db, create_admin, demo, serve):
        app.cli.add_command(command)


@click.command("init-db")
@with_appcontext
def init_db():
    """Create the database tables (safe to run again)."""
    db.init(current_app.config["DATABASE"])
    click.echo(f"数据库已就绪：{current_app.config['DATABASE']}")


@click.command("create-admin")
@with_appcontext
@click.option("--username", prompt="用户名", default="admin")
@click.option("--name", prompt="姓名", default="管理员")
@click.option("--password", prompt="密码", hide_input=True, confirmation_prompt="再输一次")
def create_admin(username, name, password):
    """Create an administrator account."""
    with db.database.connection_context():
        try:
            users.create_user(None, username, name, "admin", password)
        except users.UserError as error:
            click.echo(f"未创建：{error.message}", err=True)
            sys.exit(1)
    click.echo(f"已创建管理员 {username}，请用它登录后设置小区。")


@click.command("demo")
@with_appcontext
def demo():
    """Fill an empty database with the demo estate 阳光花园."""
    from . import demo as demo_estate

    with db.database.connection_context():
        if users.User.select().exists():
            click.echo("数据库里已有数据，未创建演示小区。", err=True)
            sys.exit(1)
        demo_estate.build()
    click.echo("演示小区已创建。")


@click.command("serve")
@with_appcontext
@click.option("--workers", default=2, show_default=True)
def serve(workers):
    """Serve with gunicorn on HOST:PORT, creating the demo estate on first start in demo mode."""
    from . import demo as demo_estate

    if current_app.config.get("SECRET_KEY_MISSING"):
        from . import SECRET_KEY_MISSING

        click.echo(SECRET_KEY_MISSING, err=True)
        sys.exit(1)
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    with db.database.connection_context():
        empty = not users.User.select().exists()
        if empty and current_app.config["DEMO"]:
            click.echo("首次启动：正在创建演示小区 阳光花园 …")
            demo_estate.build()
        estate_name = Estate.current().name
        has_admin = users.User.select().where(users.User.role == "admin").exists()
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    click.echo("")
    click.echo(f"  {estate_name} · 客服  →  {url}")
    click.echo(f"  数据目录：{current_app.instance_path}")
    if current_app.config["DEMO"]:
        click.echo("  演示账号（密码都是 demo1234）：")
        for username, label in demo_estate.LOGINS:
            click.echo(f"    {username:<10} {label}")
    elif not has_admin:
        click.echo("  还没有管理员。另开一个终端运行：")
        prefix = f"KEFU_INSTANCE={os.environ['KEFU_INSTANCE']} " if os.environ.get("KEFU_INSTANCE") else ""
        click.echo(f"    {prefix}.venv/bin/flask --app app create-admin")
    click.echo("")
    sys.stdout.flush()
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    os.execv(gunicorn, [gunicorn, "--bind", f"{host}:{port}", "--workers", str(workers), "--threads", "4",
                        "--access-logfile", "-", "--timeout", "60", "app:app"])
