"""Command-line tasks: init-db, migrate, create-admin, demo, serve, backup, restore and move-data."""
import os
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from . import db
from . import users
from .estate import Estate


def needs_database(command):
    """The command opens the database first (the app factory may have left it closed, see
    kefu.open_database)."""
    import functools

    @functools.wraps(command)
    def run(*args, **kwargs):
        from . import open_database

        open_database(current_app)
        return command(*args, **kwargs)

    return run


def init_app(app):
    for command in (init_db, migrate, create_admin, demo, serve, backup, restore, move_data):
        app.cli.add_command(command)


@click.command("init-db")
@with_appcontext
@needs_database
def init_db():
    """Create the database tables (safe to run again)."""
    db.init(current_app.config["DATABASE"])
    click.echo(f"数据库已就绪：{current_app.config['DATABASE']}")


@click.command("migrate")
@with_appcontext
@needs_database
def migrate():
    """Apply the schema migrations not yet applied (the app also applies them at start)."""
    from . import migrations

    # Opening the app already migrated; what it applied is in MIGRATED.
    ran = current_app.config.get("MIGRATED") or []
    with db.database.connection_context():
        ran += migrations.run()
        history = migrations.applied()
    for number, name in ran:
        click.echo(f"已应用迁移 {number}：{name}")
    if not ran:
        click.echo("数据库结构已是最新。")
    last = max(history)
    click.echo(f"当前结构版本：{last}（{history[last][0]}），共 {len(history)} 个迁移。")


@click.command("backup")
@with_appcontext
@needs_database
@click.argument("dest", required=False)
def backup(dest):
    """Back up the database and photos into DEST (default: the instance's backups folder)."""
    from . import backup as backups

    dest = dest or current_app.config["BACKUPS"]
    try:
        folder = backups.backup(current_app.config["DATABASE"], current_app.config["PHOTOS"], dest)
    except backups.BackupError as error:
        click.echo(f"备份失败：{error.message}", err=True)
        sys.exit(1)
    manifest = backups.verify(folder)
    with db.database.connection_context():
        from . import events

        events.record(None, Estate.current(), "备份", note=f"命令行：{folder}")
    click.echo(f"已备份到 {folder}")
    click.echo(f"  {sum(manifest['tables'].values())} 行数据，{len(manifest['photos'])} 个照片文件"
               f"（其中 {manifest['photos_linked']} 个与上一份备份共用）")


@click.command("restore")
@with_appcontext
@needs_database
@click.argument("source")
@click.option("--yes", is_flag=True, help="不再确认，直接替换当前数据")
def restore(source, yes):
    """Check the backup in SOURCE, then replace this instance's database and photos with it.
    Stop the server first."""
    from . import backup as backups

    try:
        manifest = backups.verify(source)
    except backups.BackupError as error:
        click.echo(f"不能恢复：{error.message}", err=True)
        sys.exit(1)
    click.echo(f"备份 {source} 检查通过：{manifest['made_at']} 制作，"
               f"{sum(manifest['tables'].values())} 行数据，{len(manifest['photos'])} 个照片文件。")
    if not yes:
        click.confirm(f"请先停止服务。用它替换 {current_app.config['DATABASE']} 吗？", abort=True)
    db.database.close()
    backups.restore(source, current_app.config["DATABASE"], current_app.config["PHOTOS"])
    for number, name in db.init(current_app.config["DATABASE"]):  # a backup from an older version
        click.echo(f"已应用迁移 {number}：{name}")
    with db.database.connection_context():
        from . import events

        events.record(None, Estate.current(), "恢复备份", note=source)
    if db.is_url(current_app.config["DATABASE"]):
        click.echo("已恢复。恢复前的数据另存为一份备份，与所恢复的备份在同一目录。")
    else:
        click.echo("已恢复。原来的数据库文件保留在同一目录（.before-restore-时间）。")


@click.command("move-data")
@with_appcontext
@needs_database
@click.argument("dest")
@click.option("--yes", is_flag=True, help="不再确认，直接复制")
def move_data(dest, yes):
    """Copy this estate's data into DEST, a PostgreSQL URL (postgresql://user:password@host/name)
    or a SQLite file, which must hold no estate of its own. Stop the server first."""
    from . import move

    source = current_app.config["DATABASE"]
    shown = _without_password(dest)
    if not yes:
        click.confirm(f"请先停止服务。把 {_without_password(source)} 的全部数据复制到 {shown} 吗？", abort=True)
    db.database.close()
    try:
        copied = move.move(source, dest, progress=lambda table, count: click.echo(f"  {table}：{count} 行"))
    except move.MoveError as error:
        click.echo(f"未复制：{error.message}", err=True)
        sys.exit(1)
    click.echo(f"已复制 {len(copied)} 张表、{sum(copied.values())} 行到 {shown}，逐表核对行数一致。")
    click.echo("照片不在数据库里：新服务器的 PHOTOS 目录要指向同一份照片（或先复制过去）。")
    click.echo(f"然后用 DATABASE_URL={shown} 启动服务。")


def _without_password(target):
    if db.is_url(target) and "@" in target:
        scheme, _, rest = target.partition("://")
        credentials, _, place = rest.rpartition("@")
        return f"{scheme}://{credentials.partition(':')[0]}@{place}"
    return target


@click.command("create-admin")
@with_appcontext
@needs_database
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
@needs_database
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
        from . import setup

        click.echo(f"  还没有管理员。在浏览器打开 {url}setup ，输入一次性设置码：{setup.code(current_app.instance_path)}")
        click.echo("  （也可以另开一个终端运行 .venv/bin/flask --app app create-admin）")
    click.echo("")
    sys.stdout.flush()
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    # kefu/serving.py: workers replaced after a thousand requests or past a memory ceiling, and request
    # size limits matching nginx's.
    os.execv(gunicorn, [gunicorn, "--config", "python:kefu.serving",
                        "--bind", f"{host}:{port}", "--workers", str(workers), "--threads", "4",
                        "--access-logfile", "-", "--timeout", "60",
                        # gunicorn's control socket sits in ~/.gunicorn, shared by every server of the
                        # user: two estates (or a test) on one machine would take each other's.
                        "--no-control-socket", "app:app"])
