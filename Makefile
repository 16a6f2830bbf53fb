SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTEST_ARGS ?=

.PHONY: help run test test-postgres screenshots bench audit deps-run deps-test clean soak prints

help:
	@echo "make run   # 启动客服系统（自动安装依赖），然后在浏览器打开显示的地址"
	@echo "make test  # 运行全部测试（自动安装测试所需依赖）"
	@echo "make test-postgres # 在 PostgreSQL 上再运行全部测试"
	@echo "make soak  # 崩溃、并发、恶意输入测试的长版本"
	@echo "make bench # 十年数据的性能基准，结果写入 README"
	@echo "make audit # Lighthouse 手机端评分（性能、无障碍、最佳实践）"
	@echo "make prints # 用演示小区打印每种文件，逐页写成 PNG 放在 prints/ 供查看"

deps-run:
	bash scripts/system-deps.sh run

deps-test:
	bash scripts/system-deps.sh test

# Serving needs only requirements.txt; the test tools (pytest, Playwright, hypothesis, …) are in
# requirements-test.txt, which every target that runs tests adds.
.venv/.installed: requirements.txt
	test -x .venv/bin/python || python3 -m venv .venv
	.venv/bin/pip install -q -r requirements.txt
	touch $@

.venv/.test-installed: requirements-test.txt requirements.txt .venv/.installed
	.venv/bin/pip install -q -r requirements-test.txt
	touch $@

run: deps-run .venv/.installed
	.venv/bin/flask --app app serve

# The browser audit tools (axe-core for the tests, Lighthouse for `make audit`), pinned in package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Two test processes (pytest-xdist), each taking whole files so a module's shared estate is built once
# (the README's CI paragraph gives the times). `make test TEST_WORKERS=0` runs the tests in one process
# (a debugger, `-x`).
TEST_WORKERS ?= 2

# A throwaway PostgreSQL server on a loopback port (scripts/pg-test-server.sh prints its URL): the
# tests that move an estate between databases use it, and test-postgres runs the whole suite on it.
test: deps-test .venv/.installed .venv/.test-installed node_modules/.installed
	KEFU_TEST_POSTGRES_URL="$$(bash scripts/pg-test-server.sh start)" KEFU_REQUIRE_POSTGRES=1 \
		.venv/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# On PostgreSQL: every test but the browser journeys, and of those the ones whose pages write the most
# (a request's whole life, a resident's link). What a browser adds beyond the HTTP tests is the same on
# either database. `PG_TESTS=tests` runs them all.
PG_TESTS ?= tests --ignore=tests/browser tests/browser/test_tickets.py tests/browser/test_residents.py

test-postgres: deps-test .venv/.installed .venv/.test-installed node_modules/.installed
	KEFU_TEST_DATABASE_URL="$$(bash scripts/pg-test-server.sh start)" KEFU_REQUIRE_POSTGRES=1 \
		.venv/bin/python -m pytest $(PG_TESTS) $(PYTEST_ARGS)

screenshots: deps-test .venv/.installed .venv/.test-installed
	KEFU_SCREENSHOTS=docs .venv/bin/python -m pytest tests/browser -q

# The crash, concurrency and hostile-input tests at length: 100 SIGKILL rounds, two minutes of
# twenty clients, 100 generated examples per route and role (KEFU_SOAK=300 tries 300: hours).
soak: deps-test .venv/.installed .venv/.test-installed
	KEFU_SOAK=1 .venv/bin/python -m pytest tests/test_crash.py tests/test_concurrency.py tests/test_hostile_input.py $(PYTEST_ARGS)

bench: deps-run .venv/.installed
	.venv/bin/python -m bench.run
	.venv/bin/python -m bench.served
	.venv/bin/python -m bench.imports
	.venv/bin/python -m bench.notify

# Lighthouse (mobile) on the main pages as each role; fails below 95 in any category.
audit: deps-test .venv/.installed .venv/.test-installed node_modules/.installed
	.venv/bin/python scripts/audit.py

# Every printed document kind from the demo estate, as PDF and PNG pages in prints/ (pdftoppm comes
# with the test dependencies).
prints: deps-test .venv/.installed
	.venv/bin/python tests/printed.py prints

clean:
	rm -rf .venv .pytest_cache node_modules
	find . -path ./instance -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
